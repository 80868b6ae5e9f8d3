"""Settings for the test suite: the normal settings with GUANXI_TESTING on."""

import os

os.environ.setdefault("GUANXI_TESTING", "1")

from .settings import *  # noqa: F403

# Tests read English unless they ask for Chinese: the default language (used outside requests,
# e.g. by background jobs) is English here; tenants made by the test helpers are English too.
LANGUAGE_CODE = "en"
