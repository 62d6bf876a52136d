"""The benchmark's load generator, in a process of its own.

    python -m bot.demo.loadgen < burst.json > latencies.json

Reads one burst on stdin (``url``, ``secret``, ``texts`` as ``[channel, text]`` pairs,
``concurrency``, ``response_url``), sends it with :func:`bot.demo.bench_tools.command_burst`
and writes the ack latencies (ms, in the order sent) as a JSON list on stdout.

Why a process: the benchmark's own process runs the simulated console and the Slack
stand-in, which serve the bot's work after each follow's ack.  A client in that process
would share their interpreter lock and be slowed by it, while the baseline (which does no
work after its acks) would not: the comparison would charge the stand-ins to the bot.
"""

from __future__ import annotations

import json
import sys

from bot.demo.bench_tools import command_burst


def main() -> int:
    spec = json.load(sys.stdin)
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
