"""``python -m bench [--tiny] [--json]``: the benchmark, from a source checkout."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench.run import run_bench_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Start the simulated console and Slack stand-in, run the bot as a process "
        "(python -m bot run) and a minimal bolt app as a baseline, and print the figures.  "
        "No figure is asserted; the machine is named.  Exit 0 when the run completed.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead")
    parser.add_argument(
        "--tiny", action="store_true", help="a tiny configuration (seconds; proves it works)"
    )
    args = parser.parse_args(argv)
    return run_bench_command(tiny=args.tiny, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
