"""`python -m framelane_usage` serves; `python -m framelane_usage dev-key FILE` prints a ready key."""

import asyncio
import sys

from framelane_core.lifecycle import run
from framelane_usage.app import UsageApp, ensure_dev_key

if len(sys.argv) > 2 and sys.argv[1] == "dev-key":
    print(asyncio.run(ensure_dev_key(sys.argv[2])))
else:
    run(UsageApp())
