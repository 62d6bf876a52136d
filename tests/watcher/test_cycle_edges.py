"""Edges of the poll cycle found in review: parents that vanish, stops during a cycle,
replicas on one host, one vulnerability lookup per image, long channel histories."""

from __future__ import annotations

import json
import threading

from slack_sdk import WebClient

from bot.domain import owed
from bot.domain.events import ParentView
from bot.domain.images import ScanTarget
from bot.domain.owed import watch_thread
from bot.domain.progress import snapshot
from bot.domain.watch import WatchState
from bot.runtime import build_runtime
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.faults import fail_next
from tests.support.harness import ALICE, BOT_TOKEN, CHANNEL, BotHarness

ALPINE = ScanTarget(repo="library/alpine", tag="3.16")


def test_a_parent_that_cannot_be_edited_still_ends_the_watch_with_one_final_reply(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=2)
    parent_ts = bot.follow()
    fail_next(bot.slack, "chat.update", error="message_not_found", count=10)
    console_clock.advance(10 * STEP)

    assert bot.poll().outcomes == {"completed": 1}
    assert bot.poll().watches == 0
    replies = bot.slack.thread(CHANNEL, parent_ts)
    assert len(replies) == 1
    assert "complete" in json.dumps(replies[0]).lower()


def test_a_deleted_parent_ends_the_watch_while_the_scan_runs(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    bot.follow()
    fail_next(bot.slack, "chat.update", error="message_not_found")
    console_clock.advance(STEP + 1)

    bot.poll()  # the cycle owes an edit; Slack says the parent is gone when it is sent
    (watch,) = [w for w in [bot.runtime.store.get(1)] if w is not None]
    assert watch.state is WatchState.FAILED


def test_a_watch_stopped_while_the_console_is_asked_is_left_alone(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    parent_ts = bot.follow()
    (watch,) = bot.runtime.store.list_open()
    console_clock.advance(STEP + 1)
    bot.console.inject_fault("delay", delay_seconds=1.0, path_contains="registry/progress")
    asked_before = len([r for r in bot.console.requests if r.path.endswith("registry/progress")])
    reports = []
    cycle = threading.Thread(target=lambda: reports.append(bot.poll()))
    cycle.start()
    # The cycle's own question (not the follow's): it has listed its watches by then.
    bot.console.wait_for_requests(
        lambda r: r.path.endswith("registry/progress"), count=asked_before + 1
    )

    bot.click_stop(watch.id, message_ts=parent_ts)
    bot.wait_until(lambda: bot.runtime.store.list_open() == [])
    cycle.join(timeout=10)

    assert reports[0].outcomes == {"ended-meanwhile": 1}
    assert "stop_watch" not in json.dumps(bot.slack.messages(CHANNEL)[0])
    (reply,) = bot.slack.thread(CHANNEL, parent_ts)
    assert "stopped" in json.dumps(reply).lower()


def test_replicas_on_one_host_do_not_share_the_poll_lease(bot: BotHarness) -> None:
    second = build_runtime(bot.runtime.settings, clock=bot.clock)
    try:
        assert second.owner != bot.runtime.owner
        assert bot.poll().ran is True
        assert second.poll_once().ran is False  # the first replica holds the lease
    finally:
        second.shutdown()  # releasing its own (absent) lease leaves the first one's alone
    assert bot.poll().ran is True
    third = build_runtime(bot.runtime.settings, clock=bot.clock)
    try:
        assert third.poll_once().ran is False
    finally:
        third.shutdown()


def test_one_vulnerability_lookup_per_image_however_many_channels_complete(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=1)
    for channel in ("C01", "C02", "C03"):
        bot.follow(channel_id=channel)
    console_clock.advance(10 * STEP)
    bot.console.clear_requests()

    assert bot.poll().outcomes == {"completed": 3}
    lookups = [r for r in bot.console.requests if r.path.endswith("/registry")]
    assert len(lookups) == 1
    for channel in ("C01", "C02", "C03"):
        (parent,) = bot.slack.messages(channel)
        final = json.dumps(bot.slack.thread(channel, parent["ts"])[-1])
        assert "Vulnerabilities" in final


def test_a_parent_posted_before_a_crash_is_found_behind_a_long_history(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    store = bot.runtime.store
    snap = snapshot(bot.runtime.console.progress(ALPINE))
    now = bot.clock()
    watch, _ = store.create_watch(
        target=ALPINE,
        channel_id=CHANNEL,
        requester_id=ALICE,
        now=now,
        snapshot=snap,
        owe=lambda new: [
            owed.parent(watch_thread(new.id), CHANNEL, ParentView.of(new, snap, now=now))
        ],
    )
    (entry,) = store.pending(watch_thread(watch.id))
    store.start_attempt(entry.id)  # the attempt that reached Slack before the crash
    view = ParentView.of(watch, snap, now=now)
    posted_ts = bot.runtime.sender.notifier.post_parent(CHANNEL, view, marker=entry.key).thread_ts
    chatter = WebClient(token=BOT_TOKEN, base_url=bot.slack.api_url)
    for n in range(250):
        chatter.chat_postMessage(channel=CHANNEL, text=f"message {n}")

    bot.deliver()

    resumed = store.get(watch.id)
    assert resumed is not None
    assert resumed.parent_ts == posted_ts
    parents = [m for m in bot.slack.messages(CHANNEL) if m.get("metadata")]
    assert len(parents) == 1
