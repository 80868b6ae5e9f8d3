"""Settings for the test suite: the normal settings with GUANXI_TESTING on."""

import os

os.environ.setdefault("GUANXI_TESTING", "1")

from .settings import *  # noqa: F403
