"""The ack phase of ``python -m bench``: the bot against a minimal bolt app, same requests.

How it keeps the comparison fair on a shared, noisy machine:

* each figure's requests are sent in ``rounds`` rounds, the bot's and the baseline's
  interleaved (who goes first alternates), and each side's samples are pooled: a moment
  of noise from elsewhere on the machine lands on both sides, not on one;
* the requests come from a load generator in its own process (:mod:`bench.loadgen`),
  not from the process whose stand-ins serve the bot's work;
* after a round of the bot's follows, the next burst waits until each of them got its
  parent posted (or an answer): the baseline is not measured while the bot still works
  off the previous round, and the bot's next round does not start behind it either.

Reported per figure: the pooled p50/p99/max, and the p99 of each round (``round_p99``).
"""

from __future__ import annotations

from typing import Any

from bench import tools
from bot.sandbox.console import SandboxConsole
from bot.sandbox.slack.api import SlackApiStandIn

WHO = ("scanbot", "minimal_bolt")
KINDS = ("help", "follow")


def measure_acks(
    console: SandboxConsole,
    slack: SlackApiStandIn,
    *,
    secret: str,
    bot_url: str,
    baseline_url: str,
    levels: tuple[tuple[str, int, int], ...],
    rounds: int,
) -> dict[str, Any]:
    """Ack latencies of ``help`` and of follows of new images, for each ``(name, count,
    concurrency)`` of ``levels``, bot and baseline."""
    targets = {"scanbot": f"{bot_url}/slack/events", "minimal_bolt": f"{baseline_url}/slack/events"}
    respond = slack.response_url("bench")
    figures: dict[str, Any] = {"scanbot": {}, "minimal_bolt": {}}
    follow_id = 0
    posted_before = len(slack.calls_to("chat.postMessage")) + len(slack.responses_to("bench"))
    for name, count, concurrency in levels:
        pooled: dict[tuple[str, str], list[float]] = {(w, k): [] for w in WHO for k in KINDS}
        round_p99: dict[tuple[str, str], list[float]] = {(w, k): [] for w in WHO for k in KINDS}
        for r, size in enumerate(_split(count, rounds)):
            texts: dict[str, list[tuple[str, str]]] = {"help": [("CHELP", "help")] * size}
            texts["follow"] = []
            for _ in range(size):
                follow_id += 1
                repo = f"bench/follow{follow_id}"
                console.start_on_demand_scan(repo, tag="1.0", images=1000)
                texts["follow"].append((f"CF{follow_id:05d}", f"{repo}:1.0"))
            for who in WHO if r % 2 == 0 else tuple(reversed(WHO)):
                for kind in KINDS:
                    samples = tools.command_burst_process(
                        targets[who],
                        secret,
                        texts[kind],
                        concurrency=concurrency,
                        response_url=respond,
                    )
                    pooled[(who, kind)].extend(samples)
                    round_p99[(who, kind)].append(tools.summary_ms(samples)["p99"])
                    if who == "scanbot" and kind == "follow":
                        posted_before += size
                        _wait_answered(slack, posted_before)
        for (who, kind), samples in pooled.items():
            figure: dict[str, Any] = dict(tools.summary_ms(samples))
            figure["round_p99"] = round_p99[(who, kind)]
            figures[who].setdefault(kind, {})[name] = figure
    parents = len(slack.calls_to("chat.postMessage"))
    figures["follows_answered"] = {
        "follows": follow_id,
        "parents_posted": parents,
        "answered_at_response_url": len(slack.responses_to("bench")),
    }
    return figures


def _split(count: int, rounds: int) -> list[int]:
    """``count`` requests in ``rounds`` rounds as even as can be (none empty)."""
    rounds = max(1, min(rounds, count))
    return [count // rounds + (1 if i < count % rounds else 0) for i in range(rounds)]


def _wait_answered(slack: SlackApiStandIn, follows: int) -> None:
    """Until ``follows`` follows in all got a parent posted or an error answered."""
    tools.wait_until(
        lambda: (
            len(slack.calls_to("chat.postMessage")) + len(slack.responses_to("bench")) >= follows
        ),
        timeout=300,
    )
