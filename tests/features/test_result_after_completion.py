""" "Scan complete" is told in the cycle the console says so; the result follows when the
console writes it, end to end through signed requests against the simulated console."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import CHANNEL, BotHarness

IMAGE = "library/alpine:3.16"
EPOCH_2021 = datetime(2021, 3, 1, tzinfo=UTC).timestamp()


def registry_gets(bot: BotHarness) -> int:
    """How many ``GET /registry`` (scan results) the console has answered."""
    requests = bot.console.requests
    return sum(1 for r in requests if r.method == "GET" and r.path.endswith("/registry"))


def advance(bot: BotHarness, console_clock: ManualClock, seconds: float) -> None:
    """Time passes for the console and the bot alike."""
    console_clock.advance(seconds)
    bot.clock.advance(seconds)


def thread_text(bot: BotHarness, parent_ts: str) -> list[str]:
    return [json.dumps(reply) for reply in bot.slack.thread(CHANNEL, parent_ts)]


def follow_to_the_end(bot: BotHarness, console_clock: ManualClock) -> str:
    """Follow a 2-image scan of alpine until the console's final answer; the parent's ts."""
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=2)
    parent_ts = bot.follow()
    advance(bot, console_clock, 10 * STEP)
    return parent_ts


def test_scan_complete_is_told_at_once_and_a_result_written_25_s_later_follows_it(
    bot: BotHarness, console_clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    bot.console.seed_result(IMAGE, scanned_epoch=bot.console.epoch() - 86_400)
    bot.console.set_result_delay(25.0)
    parent_ts = follow_to_the_end(bot, console_clock)

    report = bot.poll()

    assert report.outcomes == {"completed": 1}
    assert [w.target.key for w in bot.runtime.store.awaiting_results()] == [IMAGE]
    (final,) = [t for t in thread_text(bot, parent_ts) if "Scan complete" in t]
    assert "has not written the result of this scan yet" in final
    assert "Vulnerabilities" not in final  # yesterday's result is not shown as this one

    asked = registry_gets(bot)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot"):
        advance(bot, console_clock, 10)
        assert bot.poll().results == {"waiting": 1}
        assert registry_gets(bot) == asked  # asked 10 s ago: not again before 30 s
    assert not [r for r in caplog.records if "alpine" in r.getMessage()]  # no line per cycle

    advance(bot, console_clock, 20)  # 30 s after the final answer: the result is written
    assert bot.poll().results == {"arrived": 1}
    assert registry_gets(bot) == asked + 1
    replies = thread_text(bot, parent_ts)
    assert "Result of this scan" in replies[-1]
    assert "Vulnerabilities" in replies[-1]
    assert "Since the previous result" in replies[-1]

    advance(bot, console_clock, 60)
    assert bot.poll().results == {}  # told once, no longer looked for
    assert registry_gets(bot) == asked + 1


def test_a_result_never_written_is_said_to_be_missing_after_the_wait(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.set_result_delay(None)
    parent_ts = follow_to_the_end(bot, console_clock)
    assert bot.poll().outcomes == {"completed": 1}
    asked = registry_gets(bot)

    polls = 0
    while not any("has no result of this scan" in t for t in thread_text(bot, parent_ts)):
        advance(bot, console_clock, 5)
        bot.poll()
        polls += 1
        assert polls <= 10 * 60 // 5 + 2, "no 'no result' reply after the wait"

    # One GET /registry per 30 s while waiting, over about 10 minutes of polls every 5 s.
    assert registry_gets(bot) - asked <= 10 * 60 // 30 + 1
    assert polls * 5 >= 10 * 60  # not before SCANBOT_RESULT_WAIT_MINUTES (10)
    final = thread_text(bot, parent_ts)
    assert sum("Scan complete" in t for t in final) == 1
    assert sum("has no result of this scan" in t for t in final) == 1


def test_a_2021_result_is_never_shown_as_this_scans(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.seed_result(IMAGE, scanned_epoch=EPOCH_2021)
    bot.console.set_result_delay(None)
    parent_ts = follow_to_the_end(bot, console_clock)

    assert bot.poll().outcomes == {"completed": 1}
    (final,) = [t for t in thread_text(bot, parent_ts) if "Scan complete" in t]
    assert "has not written the result of this scan yet" in final

    advance(bot, console_clock, 10 * 60)
    assert bot.poll().results == {"missing": 1}
    replies = thread_text(bot, parent_ts)
    assert "has no result of this scan" in replies[-1]
    assert "is not shown as this scan's" in replies[-1]
    assert all("Vulnerabilities" not in reply for reply in replies)


def test_a_failed_scan_is_told_at_once_and_no_result_is_awaited(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.set_result_delay(None)
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=2, fail_with="boom")
    parent_ts = bot.follow()
    advance(bot, console_clock, 10 * STEP)

    report = bot.poll()

    assert report.outcomes == {"completed": 1}
    assert report.results == {}
    assert "Scan finished with an error" in thread_text(bot, parent_ts)[-1]
