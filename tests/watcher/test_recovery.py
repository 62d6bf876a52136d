"""Crash windows around posting the parent message, and failures that must not lose a watch.

A watch row and the parent message it owes are stored in one transaction; the sender
records each attempt before it sends.  If the process dies after Slack accepted the parent
but before that was recorded, the next attempt finds the parent by the outbox key in its
metadata and adopts it instead of posting it again.  Either way: exactly one parent.
"""

from __future__ import annotations

import json
import logging

import pytest

from bot.domain import owed
from bot.domain.events import ParentView
from bot.domain.images import ScanTarget
from bot.domain.owed import watch_thread
from bot.domain.progress import snapshot
from bot.domain.watch import Watch, WatchState
from tests.support.harness import ALICE, CHANNEL, BotHarness

ALPINE = ScanTarget(repo="library/alpine", tag="3.16")


@pytest.fixture(autouse=True)
def alpine_scan(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)


def owed_watch(bot: BotHarness) -> Watch:
    """The row and owed parent a listener stored just before it died."""
    snap = snapshot(bot.runtime.console.progress(ALPINE))
    now = bot.clock()
    watch, created = bot.runtime.store.create_watch(
        target=ALPINE,
        channel_id=CHANNEL,
        requester_id=ALICE,
        now=now,
        snapshot=snap,
        owe=lambda new: [
            owed.parent(watch_thread(new.id), CHANNEL, ParentView.of(new, snap, now=now))
        ],
    )
    assert created
    return watch


def test_a_parent_slack_accepted_just_before_a_crash_is_adopted_not_posted_again(
    bot: BotHarness,
) -> None:
    watch = owed_watch(bot)
    (entry,) = bot.runtime.store.pending(watch_thread(watch.id))
    # The dead process had recorded its attempt and Slack had taken the message.
    bot.runtime.store.start_attempt(entry.id)
    assert watch.last_snapshot is not None
    view = ParentView.of(watch, watch.last_snapshot, now=bot.clock())
    notifier = bot.runtime.sender.notifier
    posted_ts = notifier.post_parent(CHANNEL, view, marker=entry.key).thread_ts

    bot.deliver()

    assert len(bot.slack.messages(CHANNEL)) == 1
    resumed = bot.runtime.store.get(watch.id)
    assert resumed is not None
    assert resumed.state is WatchState.ACTIVE
    assert resumed.parent_ts == posted_ts


def test_a_parent_never_posted_is_posted_by_the_sender(bot: BotHarness) -> None:
    watch = owed_watch(bot)

    bot.deliver()

    (parent,) = bot.slack.messages(CHANNEL)
    resumed = bot.runtime.store.get(watch.id)
    assert resumed is not None
    assert resumed.parent_ts == parent["ts"]
    assert parent["metadata"]["event_payload"]["key"] == f"watch:{watch.id}:parent"


def test_a_pending_watch_written_before_the_outbox_gets_its_parent_after_a_minute(
    bot: BotHarness,
) -> None:
    watch, _ = bot.runtime.store.create_watch(
        target=ALPINE, channel_id=CHANNEL, requester_id=ALICE, now=bot.clock()
    )
    bot.poll()
    assert bot.slack.messages(CHANNEL) == []  # a listener may still be at work on it

    bot.clock.advance(61)
    bot.poll()

    (parent,) = bot.slack.messages(CHANNEL)
    resumed = bot.runtime.store.get(watch.id)
    assert resumed is not None
    assert resumed.parent_ts == parent["ts"]


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


def test_a_watch_stopped_before_its_parent_was_posted_ends_with_no_button(
    bot: BotHarness,
) -> None:
    from bot.watcher import lifecycle

    watch = owed_watch(bot)
    assert lifecycle.stop(bot.runtime.ctx, watch, by_user=ALICE)
    bot.deliver()

    (parent,) = bot.slack.messages(CHANNEL)
    assert "stop_watch" not in json.dumps(parent)
    (reply,) = bot.slack.thread(CHANNEL, parent["ts"])
    assert "stopped following" in json.dumps(reply)
    assert bot.runtime.store.list_open() == []
