"""Channels subscribed to the regular registry scan, end to end: signed slash commands, the
simulated console and the Slack stand-in, over real HTTP.

Sandbox timeline: every registry has 2 repositories (discovery items) and 3 images, one
item per STEP seconds of console time, so a scan ends 5 * STEP after it starts.
"""

from __future__ import annotations

import json

from bot.runtime import build_runtime
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.delivery import drain
from tests.support.harness import BotHarness
from tests.support.leases import lapse_leases

CHANNELS = ("C0SUBA", "C0SUBB")


def regular_requests(bot: BotHarness) -> int:
    """``GET registry/progress`` without image parameters (the regular scan's)."""
    return len(
        [r for r in bot.console.requests if r.path.endswith("/registry/progress") and not r.query]
    )


def subscribe(bot: BotHarness, channel_id: str) -> None:
    bot.command("subscribe", channel_id=channel_id)
    bot.wait_until(lambda: channel_id in {s.channel_id for s in bot.runtime.store.subscriptions()})


def test_nobody_subscribed_means_no_regular_scan_request(bot: BotHarness) -> None:
    bot.console.start_regular_scan(repositories=2, images=3)
    bot.console.clear_requests()

    bot.poll()

    assert regular_requests(bot) == 0


def test_two_subscribed_channels_follow_one_regular_scan_with_one_request_per_cycle(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    for channel in CHANNELS:
        subscribe(bot, channel)
    bot.console.start_regular_scan(registries=("a.example", "b.example"), repositories=2, images=3)
    bot.console.clear_requests()

    report = bot.poll()

    assert regular_requests(bot) == 1
    assert report.regular == {"opened": 2}
    parents = {channel: bot.slack.messages(channel) for channel in CHANNELS}
    assert all(len(messages) == 1 for messages in parents.values())
    first = json.dumps(parents[CHANNELS[0]][0])
    assert "Regular registry scan" in first
    # One line per registry (names in code spans, so Slack does not link them).
    assert first.count("example`: discovering tags") == 2

    for cycle in range(2, 8):
        console_clock.advance(STEP)
        bot.poll()
        assert regular_requests(bot) == cycle  # one regular request per cycle, not per channel

    for channel in CHANNELS:
        (parent,) = bot.slack.messages(channel)
        replies = bot.slack.thread(channel, parent["ts"])
        final = json.dumps(replies[-1])
        assert "complete" in final.lower()
        assert "4 repositories discovered" in final
        assert "6 tags found" in final
        assert "6 images scanned" in final
        assert "took" in final
        assert "Scan complete" in json.dumps(parent)  # the parent's final state
        assert "Discovery finished" in json.dumps(replies)  # a phase change in the thread
    assert bot.runtime.store.open_runs() == []
    bot.poll()  # the finished scan stays in the answer: nothing more is told
    assert all(len(bot.slack.messages(c)) == 1 for c in CHANNELS)


def test_a_restart_during_a_subscribed_scan_continues_the_same_thread(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    subscribe(bot, CHANNELS[0])
    bot.console.start_regular_scan(repositories=2, images=3)
    bot.poll()
    (parent,) = bot.slack.messages(CHANNELS[0])

    # A second process on the same database, once the first one's poll lease lapsed (as
    # after kill -9): it finds the run and continues its thread.
    second = build_runtime(
        bot.runtime.settings, clock=bot.clock, channel_interval=0, rate_budget=False
    )
    bot.clock.advance(60)
    lapse_leases(bot.runtime.settings.scanbot_database_url)
    try:
        console_clock.advance(2 * STEP + 1)
        second.poll_once()
        drain(second.sender)
        console_clock.advance(10 * STEP)
        second.poll_once()
        drain(second.sender)
    finally:
        second.shutdown()

    assert len(bot.slack.messages(CHANNELS[0])) == 1  # no second parent
    replies = bot.slack.thread(CHANNELS[0], parent["ts"])
    assert "complete" in json.dumps(replies[-1]).lower()


def test_scan_errors_and_registry_status_errors_are_told_in_the_thread(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    subscribe(bot, CHANNELS[0])
    bot.console.start_regular_scan(repositories=2, images=3)
    bot.console.add_registry_status_error("No available Defender was found")
    bot.poll()
    console_clock.advance(STEP)
    bot.console.set_step_error("registry a.example: 401 Unauthorized")
    bot.poll()
    console_clock.advance(10 * STEP)
    bot.console.set_step_error("")
    bot.poll()

    (parent,) = bot.slack.messages(CHANNELS[0])
    thread = json.dumps(bot.slack.thread(CHANNELS[0], parent["ts"]))
    assert "No available Defender was found" in thread
    assert "401 Unauthorized" in thread
    assert "complete with errors" in thread


def test_subscribe_unsubscribe_and_the_list(bot: BotHarness) -> None:
    subscribe(bot, CHANNELS[0])
    bot.command("subscriptions", channel_id=CHANNELS[0])
    bot.command("unsubscribe", channel_id=CHANNELS[0])
    responses = bot.slack.wait_for_responses(3)

    texts = json.dumps([r.body for r in responses])
    assert "will be told about every regular registry scan" in texts
    assert f"<#{CHANNELS[0]}>" in texts
    assert "no longer told" in texts
    assert bot.runtime.store.subscriptions() == []
