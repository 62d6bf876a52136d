"""Delivery faults against the real HTTP stand-ins: nothing lost, nothing said twice.

Each test follows one scan to its end through a fault and counts, in the Slack stand-in,
what a person in the channel would see: one parent, one "Scan complete" in its thread.
"""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy.exc import OperationalError

from bot.domain.watch import WatchState
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.faults import accept_then_fail_next, fail_next, reset_next
from tests.support.harness import CHANNEL, BotHarness


def completions(bot: BotHarness, parent_ts: str) -> int:
    return sum("Scan complete" in json.dumps(m) for m in bot.slack.thread(CHANNEL, parent_ts))


def start_scan(bot: BotHarness) -> str:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=2)
    return bot.follow()


def finish_scan(bot: BotHarness, console_clock: ManualClock) -> None:
    console_clock.advance(10 * STEP)


@pytest.mark.parametrize(
    "fault",
    ["accepted-then-500", "accepted-then-503", "internal_error", "reset"],
)
def test_a_final_reply_whose_answer_is_lost_is_posted_exactly_once(
    bot: BotHarness, console_clock: ManualClock, fault: str
) -> None:
    parent_ts = start_scan(bot)
    if fault.startswith("accepted-then-"):
        accept_then_fail_next(bot.slack, "chat.postMessage", status=int(fault[-3:]))
    elif fault == "reset":
        reset_next(bot.slack, "chat.postMessage")
    else:
        fail_next(bot.slack, "chat.postMessage", error=fault)
    finish_scan(bot, console_clock)

    bot.poll()  # the completion is owed; its first send fails one way or another
    bot.clock.advance(600)  # past the sender's backoff
    bot.deliver()

    assert completions(bot, parent_ts) == 1
    assert len(bot.slack.messages(CHANNEL)) == 1
    assert bot.runtime.store.outbox_backlog(now=bot.clock())[0] == 0


def test_a_database_error_while_a_watch_finishes_owes_the_completion_once(
    bot: BotHarness, console_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finish and the reply it owes are one transaction: both happen, or neither."""
    parent_ts = start_scan(bot)
    finish_scan(bot, console_clock)
    store = bot.runtime.store
    original = store.finish
    failures = iter([OperationalError("UPDATE watches", {}, Exception("database is locked"))])

    def locked_once(*args: object, **kwargs: object) -> object:
        error = next(failures, None)
        if error is not None:
            raise error
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "finish", locked_once)
    assert bot.runtime.supervisor.run() is None  # the cycle failed on the database
    bot.clock.advance(5)
    monkeypatch.setattr(bot.runtime.supervisor, "_resume_at", 0.0)
    bot.runtime.supervisor.run()
    bot.deliver()

    assert completions(bot, parent_ts) == 1


def test_slack_refusing_the_blocks_of_the_final_reply_gets_a_plain_text_completion(
    bot: BotHarness, console_clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    parent_ts = start_scan(bot)
    fail_next(bot.slack, "chat.postMessage", error="invalid_blocks", count=3)
    finish_scan(bot, console_clock)
    caplog.set_level(logging.WARNING, logger="bot.delivery.sender")

    bot.poll()
    for _ in range(4):
        bot.clock.advance(600)
        bot.deliver()

    (final,) = bot.slack.thread(CHANNEL, parent_ts)[-1:]
    assert "Scan complete" in final["text"]
    assert "blocks" not in final or not final["blocks"]
    assert completions(bot, parent_ts) == 1
    assert "stopped following" not in json.dumps(bot.slack.thread(CHANNEL, parent_ts)).lower()
    assert any("plain text" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("error", ["channel_not_found", "is_archived", "not_in_channel"])
def test_a_channel_gone_ends_the_watch_and_drops_what_it_owed(
    bot: BotHarness, console_clock: ManualClock, error: str
) -> None:
    start_scan(bot)
    fail_next(bot.slack, "chat.update", error=error, count=5)
    fail_next(bot.slack, "chat.postMessage", error=error, count=5)
    console_clock.advance(STEP + 1)

    bot.poll()

    (watch,) = [w for w in [bot.runtime.store.get(1)] if w is not None]
    assert watch.state is WatchState.FAILED
    assert bot.runtime.store.outbox_backlog(now=bot.clock())[0] == 0


@pytest.mark.parametrize("error", ["account_inactive", "invalid_auth", "token_revoked"])
def test_a_refused_token_stops_the_work_reports_it_in_readiness_and_loses_nothing(
    bot: BotHarness, console_clock: ManualClock, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    parent_ts = start_scan(bot)
    fail_next(bot.slack, "chat.postMessage", error=error, count=1)
    finish_scan(bot, console_clock)
    caplog.set_level(logging.ERROR)

    bot.poll()
    ready, report = bot.runtime.readiness()
    asked = len(bot.console.requests)
    assert bot.runtime.supervisor.run() is None  # no console request while Slack refuses us
    assert bot.runtime.supervisor.run() is None

    assert ready  # still answers Slack; the refusal is a degraded reason
    assert error in str(report["reasons"])
    assert len(bot.console.requests) == asked
    refusals = [r for r in caplog.records if "refuses our token" in r.getMessage()]
    assert len(refusals) == 1  # said once, not once per message or per cycle

    # The token works again (an operator fixed it): the completion is still owed.
    bot.runtime.sender.status.paused_until = 0.0
    bot.clock.advance(120)
    bot.deliver()
    assert completions(bot, parent_ts) == 1
    bot.runtime.supervisor.run()  # the next scheduled cycle polls again
    assert bot.runtime.readiness()[1]["slack"] == "ok"  # recovered: no longer named


def test_a_rate_limit_holds_back_that_method_in_that_channel_only_and_drops_nothing(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    parent_ts = start_scan(bot)
    bot.slack.rate_limit_next("chat.postMessage", retry_after=1, count=2)
    finish_scan(bot, console_clock)

    bot.poll()
    sender = bot.runtime.sender
    assert sender.status.rate_limited == 1
    assert sender.held("chat.postMessage", CHANNEL) > 0
    assert sender.held("chat.postMessage", "COTHER") == 0  # another channel may post
    assert sender.held("chat.update") == 0  # and edits go on
    assert completions(bot, parent_ts) == 0
    assert not sender.deliver_due()  # held: the completion is not tried meanwhile

    bot.clock.advance(5)
    bot.wait_until(lambda: sender.deliver_due() or completions(bot, parent_ts) == 1)
    assert completions(bot, parent_ts) == 1
