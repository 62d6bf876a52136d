"""``scanbot run`` as one replica of the multi-replica fault test.

Run as ``python -m tests.support.replica``.  Two knobs, read only here (never by scanbot):

* ``SCANBOT_TEST_CLOCK_OFFSET_SECONDS``: this replica's wall clock runs that far ahead (or
  behind): every decision the bot takes by its clock sees the skewed time, as on a host
  whose clock is off.  The database's clock is not touched.
* ``SCANBOT_TEST_REPLICA``: a name added to the console client's ``User-Agent``, so the
  simulated console can tell which replica asked it.

Everything else is ``scanbot run`` unchanged (same settings, same entry point).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from typing import Any

from bot import runtime
from bot.cli.main import main as scanbot
from bot.console import transport
from bot.domain.ports import utc_now

OFFSET_ENV = "SCANBOT_TEST_CLOCK_OFFSET_SECONDS"
NAME_ENV = "SCANBOT_TEST_REPLICA"


def main() -> int:
    offset = timedelta(seconds=float(os.environ.get(OFFSET_ENV) or 0))
    name = os.environ.get(NAME_ENV, "")
    if name:
        transport.__version__ = f"{transport.__version__} replica/{name}"  # type: ignore[attr-defined]
    build = runtime.build_runtime

    def skewed() -> datetime:
        return utc_now() + offset

    def build_skewed(settings: Any, **kwargs: Any) -> runtime.Runtime:
        kwargs["clock"] = skewed
        return build(settings, **kwargs)

    runtime.build_runtime = build_skewed
    return scanbot(["run", "--host", "127.0.0.1"])


if __name__ == "__main__":
    sys.exit(main())
