"""Crash windows around posting the parent message, and failures that must not lose a watch.

A watch row is created (PENDING) before its parent message is posted, and marked ACTIVE
with the parent's ts after.  If the process dies in between, the next poll — once the
listener that created the row is surely gone — adopts the parent it finds in the channel
(by message metadata) or, if none was posted, posts it.  Either way: exactly one parent.
"""

from __future__ import annotations

import json
import logging

import pytest

from bot.images import ScanTarget
from bot.notify import ParentView
from bot.progress import snapshot
from bot.watch import Watch, WatchState
from tests.support.harness import ALICE, CHANNEL, BotHarness

ALPINE = ScanTarget(repo="library/alpine", tag="3.16")


@pytest.fixture(autouse=True)
def alpine_scan(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)


def pending_watch(bot: BotHarness) -> Watch:
    """The row a listener wrote just before it died."""
    store = bot.runtime.store
    watch, created = store.create_watch(
        target=ALPINE, channel_id=CHANNEL, requester_id=ALICE, now=bot.clock()
    )
    assert created
    snap = snapshot(bot.runtime.console.progress(ALPINE))
    return store.record_progress(
        watch.id, snapshot=snap, saw_running=True, thread_posted_at=None, now=bot.clock()
    )


def test_a_parent_posted_just_before_a_crash_is_adopted_not_posted_again(bot: BotHarness) -> None:
    watch = pending_watch(bot)
    assert watch.last_snapshot is not None
    view = ParentView.of(watch, watch.last_snapshot, now=bot.clock())
    posted_ts = bot.runtime.ctx.notifier.post_parent(CHANNEL, view).thread_ts
    bot.clock.advance(61)

    bot.poll()

    assert len(bot.slack.messages(CHANNEL)) == 1
    resumed = bot.runtime.store.get(watch.id)
    assert resumed is not None
    assert resumed.state is WatchState.ACTIVE
    assert resumed.parent_ts == posted_ts


def test_a_parent_never_posted_is_posted_by_the_next_poll(bot: BotHarness) -> None:
    watch = pending_watch(bot)
    bot.clock.advance(61)

    bot.poll()

    (parent,) = bot.slack.messages(CHANNEL)
    resumed = bot.runtime.store.get(watch.id)
    assert resumed is not None
    assert resumed.parent_ts == parent["ts"]
    assert parent["metadata"]["event_payload"]["watch_id"] == watch.id


def test_a_fresh_pending_watch_is_left_to_the_listener_posting_it(bot: BotHarness) -> None:
    pending_watch(bot)

    assert bot.poll().outcomes == {"pending": 1}
    assert bot.slack.messages(CHANNEL) == []


def test_slack_rate_limiting_is_retried_by_the_client_and_the_parent_still_posted(
    bot: BotHarness,
) -> None:
    bot.slack.rate_limit_next("chat.postMessage", retry_after=1)

    bot.command("alpine:3.16")

    bot.wait_for_active_watches(1)
    assert len(bot.slack.calls_to("chat.postMessage")) == 2  # 429, then the retry
    assert len(bot.slack.messages(CHANNEL)) == 1


def test_an_unexpected_error_reaches_the_one_error_handler_and_the_user_is_told(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(target: object = None) -> object:
        raise RuntimeError("bug in scanbot")

    monkeypatch.setattr(bot.runtime.console, "progress", broken)
    caplog.set_level(logging.ERROR)

    bot.command("alpine:3.16")

    (reply,) = bot.slack.wait_for_responses(1)
    text = json.dumps(reply.body)
    assert "went wrong" in text
    assert "bug in scanbot" not in text  # no internals in Slack
    assert "Traceback" not in text
    assert any("bug in scanbot" in str(r.exc_info) for r in caplog.records if r.exc_info)


def test_a_watch_stopped_while_its_parent_was_posted_ends_with_no_button(bot: BotHarness) -> None:
    from bot.watcher import lifecycle

    store = bot.runtime.store
    original_activate = store.activate

    def stop_first(watch_id: int, *, parent_ts: str, now: object) -> Watch:
        # A user presses stop between the parent being posted and its ts being recorded.
        store.finish(watch_id, state=WatchState.STOPPED, now=bot.clock())
        return original_activate(watch_id, parent_ts=parent_ts, now=bot.clock())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "activate", stop_first)
        result = lifecycle.follow(bot.runtime.ctx, ALPINE, channel_id=CHANNEL, user_id=ALICE)

    assert isinstance(result, lifecycle.Started)
    (parent,) = bot.slack.messages(CHANNEL)
    assert "stop_watch" not in json.dumps(parent)
    assert store.list_open() == []
