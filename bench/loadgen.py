"""The benchmark's load generator, in a process of its own.

    python -m bench.loadgen < spec.json > figures.json

Reads one spec on stdin and writes its figures on stdout:

* ``{"kind": "commands", "url", "secret", "texts": [[channel, text], ...], "concurrency",
  "response_url"}``: the burst sent with :func:`bench.tools.command_burst`; the
  ack latencies (ms, in the order sent) as a JSON list;
* ``{"kind": "fetch", "console_url", "user", "password", "targets": [[repo, tag], ...],
  "concurrency"}``: the bare httpx loop of :func:`bench.tools.bare_fetch_seconds`;
  the seconds it took.

Why a process: the benchmark's own process runs the simulated console and the Slack
stand-in, which serve the bot's work after each follow's ack.  A client in that process
would share their interpreter lock and be slowed by it, while the baseline (which does no
work after its acks) would not: the comparison would charge the stand-ins to the bot.  The
bare httpx loop, likewise, would share its process with the console it measures, while the
bot's fetch does not.
"""

from __future__ import annotations

import json
import sys

from bench.tools import bare_fetch_seconds, command_burst
from bot.domain.images import ScanTarget


def main() -> int:
    spec = json.load(sys.stdin)
    if spec["kind"] == "fetch":
        seconds = bare_fetch_seconds(
            str(spec["console_url"]),
            str(spec["user"]),
            str(spec["password"]),
            [ScanTarget(repo=str(repo), tag=str(tag)) for repo, tag in spec["targets"]],
            int(spec["concurrency"]),
        )
        json.dump(seconds, sys.stdout)
        return 0
    samples = command_burst(
        str(spec["url"]),
        str(spec["secret"]),
        [(str(channel), str(text)) for channel, text in spec["texts"]],
        concurrency=int(spec["concurrency"]),
        response_url=str(spec["response_url"]),
    )
    json.dump(samples, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
