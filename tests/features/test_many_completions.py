"""Many scans ending in one poll cycle: every "Scan complete" is owed in that cycle, their
results are looked up together in one batched ``GET /registry``, and a spent
``GET /registry`` budget (30 requests per 30 s) never holds a completion back — the result
follows once the console may be asked again.  End to end: signed slash commands, the
simulated console and the Slack stand-in over loopback HTTP."""

from __future__ import annotations

import json

from bot.console.client import ConsoleClient
from bot.console.ratelimit import SlidingWindowLimiter
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import CHANNEL, BotHarness

SCANS = 12


def registry_gets(bot: BotHarness) -> list[dict[str, list[str]]]:
    """The query of every ``GET /registry`` (scan results) the console answered."""
    return [
        r.query for r in bot.console.requests if r.method == "GET" and r.path.endswith("/registry")
    ]


def follow_many(bot: BotHarness) -> dict[str, str]:
    """Follow ``SCANS`` 2-image scans of different repositories; parent ts -> repository."""
    parents: dict[str, str] = {}
    for i in range(SCANS):
        repo = f"team/service{i:02d}"
        bot.console.start_on_demand_scan(repo, tag="1.0", images=2)
        parents[bot.follow(f"{repo}:1.0")] = repo
    return parents


def finals(bot: BotHarness, parent_ts: str) -> list[str]:
    return [
        json.dumps(r) for r in bot.slack.thread(CHANNEL, parent_ts) if "Scan complete" in str(r)
    ]


def test_scans_ending_together_are_told_complete_with_results_from_one_request(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    parents = follow_many(bot)
    console_clock.advance(10 * STEP)
    before = len(registry_gets(bot))

    report = bot.poll()

    assert report.outcomes == {"completed": SCANS}
    asked = registry_gets(bot)[before:]
    assert len(asked) == 1  # one request for the twelve images
    assert sorted(asked[0]["repository"]) == sorted(parents.values())
    for parent_ts in parents:
        (final,) = finals(bot, parent_ts)
        assert "Vulnerabilities" in final  # the result is in the completion itself


def test_a_spent_registry_budget_never_holds_a_completion_back(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    """With no ``GET /registry`` left in the window, the twelve completions are told in
    the cycle all the same ("result follows"), nothing waits for the window, and the
    results follow as one more reply each once the console may be asked again."""
    parents = follow_many(bot)
    now = [0.0]

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"the poll cycle waited {seconds} s for GET /registry's limit")

    console = bot.runtime.console
    assert isinstance(console, ConsoleClient)
    spent = SlidingWindowLimiter(30, 30.0, max_wait=10.0, clock=lambda: now[0], sleep=no_sleep)
    for _ in range(30):
        spent.acquire()  # other lookups used the window's thirty requests
    console._registry_limiter = spent
    console_clock.advance(10 * STEP)
    before = len(registry_gets(bot))

    report = bot.poll()

    assert report.outcomes == {"completed": SCANS}
    assert registry_gets(bot)[before:] == []
    for parent_ts in parents:
        (final,) = finals(bot, parent_ts)
        assert "has not written the result of this scan yet" in final

    now[0] = 31.0  # the window has passed: the awaited results are asked for at once
    bot.clock.advance(5)
    console_clock.advance(5)
    assert bot.poll().results == {"arrived": SCANS}
    assert len(registry_gets(bot)[before:]) == 1
    for parent_ts in parents:
        replies = [json.dumps(r) for r in bot.slack.thread(CHANNEL, parent_ts)]
        assert sum("Scan complete" in r for r in replies) == 1
        assert "Result of this scan" in replies[-1]
