#!/usr/bin/env python
"""Django's command-line utility for Guanxi CRM (the `guanxi` console script does the same)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "src"))

from guanxi.manage import main

if __name__ == "__main__":
    main()
