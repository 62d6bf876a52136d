"""bot.delivery.sender against a real Store (SQLite file) and a fake Notifier that records calls.

Time is injected: ``clock`` (the outbox's datetimes) and ``monotonic`` (pacing and pauses)
move only when a test moves them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.delivery.budget import BudgetLimits, LocalBuckets, SlackBudget, Unlimited
from bot.delivery.sender import AUTH_PROBE_SECONDS, PLAIN_AFTER, Sender
from bot.domain import owed
from bot.domain.events import (
    ContentRejected,
    DeliveryError,
    DeliveryFailed,
    Destination,
    DestinationGone,
    Event,
    ImageFollow,
    NotAuthorized,
    ParentView,
    Stopped,
)
from bot.domain.images import ScanTarget
from bot.domain.owed import Owed
from bot.domain.ports import ThreadState
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.watch import Watch, WatchState
from bot.store import Store
from bot.store.tables import outbox
from tests.support.clocks import ManualNow
from tests.support.delivery import drain, sent_messages

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = 3600.0  # seconds: past any backoff of a first few attempts
SUBJECT = ImageFollow(1, ScanTarget(repo="library/alpine", tag="3.16"), "U0A", T0)
SNAP = ProgressSnapshot(phase=Phase.SCANNING)


def view(label: str = "") -> ParentView:
    return ParentView(SUBJECT, WatchState.ACTIVE, SNAP, T0, console_link=label)


def said(label: str) -> Event:
    """A reply event a test can recognise by its ``by_user``."""
    return Stopped(SUBJECT, by_user=label)


@dataclass
class FakeNotifier:
    """Records every call; ``fail`` maps a method to the errors its next calls raise."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    plain: list[bool] = field(default_factory=list)
    fail: dict[str, list[DeliveryError]] = field(default_factory=dict)
    found_parent: str | None = None
    found_reply: str | None = None
    posted: int = 0

    def _maybe_fail(self, method: str) -> None:
        errors = self.fail.get(method)
        if errors:
            raise errors.pop(0)

    def post_parent(
        self, channel_id: str, view: ParentView, *, marker: str, plain: bool = False
    ) -> Destination:
        self.calls.append(("post_parent", f"{channel_id}:{view.console_link}"))
        self._maybe_fail("post_parent")
        self.posted += 1
        return Destination(channel_id, thread_ts=f"{channel_id}-p{self.posted}")

    def find_parent(self, channel_id: str, marker: str, *, since: datetime) -> Destination | None:
        self.calls.append(("find_parent", marker))
        if self.found_parent is None:
            return None
        return Destination(channel_id, thread_ts=self.found_parent)

    def update_parent(self, destination: Destination, view: ParentView) -> None:
        self.calls.append(("update_parent", view.console_link))
        self._maybe_fail("update_parent")

    def notify(
        self, destination: Destination, event: Event, *, marker: str, plain: bool = False
    ) -> str:
        assert isinstance(event, Stopped)
        self.calls.append(("notify", f"{destination.thread_ts}:{event.by_user}"))
        self.plain.append(plain)
        self._maybe_fail("notify")
        return f"r-{event.by_user}"

    def find_reply(self, destination: Destination, marker: str) -> str | None:
        self.calls.append(("find_reply", marker))
        return self.found_reply

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    store: Store
    notifier: FakeNotifier
    clock: ManualNow
    mono: Monotonic
    sender: Sender
    owe: Callable[..., None]

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.mono.now += seconds


def make_world(
    tmp_path: Path, *, channel_interval: float = 0.0, limits: BudgetLimits | None = None
) -> World:
    """A sender on a fresh store; with ``limits``, within a budget of them (its clock)."""
    store = Store(f"sqlite:///{tmp_path}/t.db")
    store.migrate()
    notifier = FakeNotifier()
    clock, mono = ManualNow(T0), Monotonic()
    sender = Sender(
        store=store,
        notifier=notifier,
        owner="test",
        clock=clock,
        monotonic=mono,
        channel_interval=channel_interval,
        budget=SlackBudget(Unlimited() if limits is None else LocalBuckets(mono), limits),
    )

    def owe(*messages: Owed) -> None:
        store.owe(list(messages), now=clock())

    return World(store, notifier, clock, mono, sender, owe)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    value = make_world(tmp_path)
    yield value
    value.store.close()


@pytest.fixture
def paced(tmp_path: Path) -> Iterator[World]:
    value = make_world(tmp_path, channel_interval=1.0)
    yield value
    value.store.close()


def opened(world: World, thread: str = "t:1", channel: str = "C1") -> str:
    """Owe and deliver a thread's parent; returns its ts."""
    world.owe(owed.parent(thread, channel, view("parent")))
    drain(world.sender)
    parent_ts = world.store.thread(thread)
    assert parent_ts is not None
    assert parent_ts.parent_ts is not None
    world.notifier.calls.clear()
    world.notifier.plain.clear()
    return parent_ts.parent_ts


# --- order ------------------------------------------------------------------------------


def test_the_messages_of_one_thread_go_in_the_order_they_were_owed(world: World) -> None:
    world.owe(
        owed.parent("t:1", "C1", view("parent")),
        owed.reply("t:1", "C1", said("first")),
        owed.reply("t:1", "C1", said("second")),
        owed.reply("t:1", "C1", said("third")),
    )
    drain(world.sender)
    assert world.notifier.calls == [
        ("post_parent", "C1:parent"),
        ("notify", "C1-p1:first"),
        ("notify", "C1-p1:second"),
        ("notify", "C1-p1:third"),
    ]
    assert world.store.outbox_backlog(now=world.clock())[0] == 0


def test_a_reply_waits_for_its_parent(world: World) -> None:
    world.notifier.fail["post_parent"] = [DeliveryFailed("timeout")]
    world.owe(owed.parent("t:1", "C1", view("parent")), owed.reply("t:1", "C1", said("hi")))
    drain(world.sender)
    assert world.notifier.names() == ["post_parent"]  # the reply was not tried

    world.advance(LATER)
    drain(world.sender)
    assert world.notifier.calls[1:] == [
        ("find_parent", "t:1:parent"),
        ("post_parent", "C1:parent"),
        ("notify", "C1-p1:hi"),
    ]


def test_a_failing_thread_does_not_hold_back_the_others(world: World) -> None:
    opened(world, "t:1", "C1")
    opened(world, "t:2", "C2")
    world.notifier.fail["notify"] = [DeliveryFailed("internal_error")]
    world.owe(owed.reply("t:1", "C1", said("a")), owed.reply("t:2", "C2", said("b")))
    world.sender.deliver_due()  # one pass: t:1 fails, t:2 still goes
    assert world.notifier.calls == [("notify", "C1-p1:a"), ("notify", "C2-p2:b")]
    assert [key for key, _ in sent_messages(world.store, "t:1")] == ["t:1:parent"]


def test_once_slack_takes_messages_again_what_waits_out_a_backoff_goes_at_once(
    world: World,
) -> None:
    opened(world, "t:1", "C1")
    opened(world, "t:2", "C2")
    world.notifier.fail["notify"] = [DeliveryFailed("internal_error")]
    world.owe(owed.reply("t:1", "C1", said("a")), owed.reply("t:2", "C2", said("b")))
    drain(world.sender)  # t:1 fails (backoff), t:2 succeeds: Slack is back
    assert len(sent_messages(world.store, "t:1")) == 2  # the parent and, at once, the reply


# --- edits ------------------------------------------------------------------------------


def test_only_the_latest_pending_edit_is_sent(world: World) -> None:
    opened(world)
    world.owe(
        owed.edit("t:1", "C1", view("v1")),
        owed.edit("t:1", "C1", view("v2")),
        owed.edit("t:1", "C1", view("v3")),
    )
    drain(world.sender)
    assert world.notifier.calls == [("update_parent", "v3")]
    assert world.store.outbox_backlog(now=world.clock())[0] == 0


def test_an_edit_is_not_looked_for_before_it_is_sent_again(world: World) -> None:
    """Edits are idempotent: a second attempt simply sends the view again."""
    opened(world)
    world.notifier.fail["update_parent"] = [DeliveryFailed("timeout")]
    world.owe(owed.edit("t:1", "C1", view("v1")))
    drain(world.sender)
    world.advance(LATER)
    drain(world.sender)
    assert world.notifier.calls == [("update_parent", "v1"), ("update_parent", "v1")]


# --- priority ---------------------------------------------------------------------------


def test_threads_with_a_final_message_go_first(world: World) -> None:
    opened(world, "t:1", "C1")
    opened(world, "t:2", "C2")
    world.owe(owed.reply("t:1", "C1", said("progress")))
    world.owe(owed.reply("t:2", "C2", said("complete"), final=True))
    drain(world.sender)
    assert world.notifier.calls == [("notify", "C2-p2:complete"), ("notify", "C1-p1:progress")]


# --- pacing -----------------------------------------------------------------------------


def test_posts_in_one_channel_are_paced_but_edits_are_not(paced: World) -> None:
    paced.owe(
        owed.parent("t:1", "C1", view("parent")),
        owed.edit("t:1", "C1", view("v1")),
        owed.reply("t:1", "C1", said("hi")),
    )
    drain(paced.sender)
    assert paced.notifier.calls == [("post_parent", "C1:parent"), ("update_parent", "v1")]

    paced.mono.now += 1.0  # one channel interval later (the wall clock has not moved)
    drain(paced.sender)
    assert paced.notifier.calls[-1] == ("notify", "C1-p1:hi")


def test_pacing_is_per_channel(paced: World) -> None:
    paced.owe(owed.parent("t:1", "C1", view("one")), owed.parent("t:2", "C2", view("two")))
    drain(paced.sender)
    assert paced.notifier.calls == [("post_parent", "C1:one"), ("post_parent", "C2:two")]


# --- rate limits ------------------------------------------------------------------------


def test_a_retry_after_holds_back_that_method_in_that_channel_only(world: World) -> None:
    opened(world, "t:0", "C3")
    world.notifier.fail["post_parent"] = [DeliveryFailed("ratelimited", retry_after=30.0)]
    world.owe(
        owed.parent("t:1", "C1", view("one")),
        owed.reply("t:1", "C1", said("after")),
        owed.edit("t:0", "C3", view("edited")),
    )
    drain(world.sender)
    assert world.notifier.calls == [("post_parent", "C1:one"), ("update_parent", "edited")]
    world.owe(owed.parent("t:2", "C2", view("two")), owed.parent("t:3", "C1", view("three")))
    assert world.sender.deliver_now("t:2") is ThreadState.DELIVERED  # another channel
    assert world.sender.deliver_now("t:3") is ThreadState.WAITING  # the limited channel
    assert world.sender.held("chat.postMessage", "C1") == 30.0

    world.advance(29.0)
    drain(world.sender)
    assert world.notifier.calls.count(("post_parent", "C1:one")) == 1  # still held

    world.advance(1.0)
    drain(world.sender)
    assert world.notifier.calls.count(("post_parent", "C1:one")) == 2
    assert ("post_parent", "C1:three") in world.notifier.calls
    assert world.sender.status.rate_limited == 1


# --- attempts after one whose outcome is unknown ----------------------------------------


def test_a_parent_found_in_slack_is_not_posted_again(world: World) -> None:
    world.notifier.fail["post_parent"] = [DeliveryFailed("timeout after accepting")]
    world.owe(owed.parent("t:1", "C1", view("parent")), owed.reply("t:1", "C1", said("hi")))
    drain(world.sender)
    world.notifier.found_parent = "C1-earlier"
    world.advance(LATER)
    drain(world.sender)
    assert world.notifier.calls == [
        ("post_parent", "C1:parent"),
        ("find_parent", "t:1:parent"),
        ("notify", "C1-earlier:hi"),
    ]
    thread = world.store.thread("t:1")
    assert thread is not None
    assert thread.parent_ts == "C1-earlier"


def test_a_reply_found_in_slack_is_not_sent_again(world: World) -> None:
    opened(world)
    world.notifier.fail["notify"] = [DeliveryFailed("timeout after accepting")]
    message = owed.reply("t:1", "C1", said("hi"))
    world.owe(message)
    drain(world.sender)
    world.notifier.found_reply = "r-earlier"
    world.advance(LATER)
    drain(world.sender)
    assert world.notifier.calls == [("notify", "C1-p1:hi"), ("find_reply", message.key)]
    assert (message.key, "r-earlier") in sent_messages(world.store, "t:1")


def test_a_reply_not_found_in_slack_is_sent_again(world: World) -> None:
    opened(world)
    world.notifier.fail["notify"] = [DeliveryFailed("internal_error")]
    message = owed.reply("t:1", "C1", said("hi"))
    world.owe(message)
    drain(world.sender)
    world.advance(LATER)
    drain(world.sender)
    assert world.notifier.calls == [
        ("notify", "C1-p1:hi"),
        ("find_reply", message.key),
        ("notify", "C1-p1:hi"),
    ]


# --- content refused --------------------------------------------------------------------


def test_content_refused_three_times_is_sent_as_plain_text_next(world: World) -> None:
    opened(world)
    world.notifier.fail["notify"] = [ContentRejected("invalid_blocks", code="invalid_blocks")] * 3
    world.owe(owed.reply("t:1", "C1", said("hi")))
    for _ in range(PLAIN_AFTER + 1):
        drain(world.sender)
        world.advance(LATER)
    assert world.notifier.plain == [False] * PLAIN_AFTER + [True]
    assert world.store.outbox_backlog(now=world.clock())[0] == 0


# --- the channel is gone ----------------------------------------------------------------


def test_a_gone_channel_closes_the_thread_and_fails_the_watch(world: World) -> None:
    def owed_for(watch: Watch) -> list[Owed]:
        thread = owed.watch_thread(watch.id)
        return [
            owed.parent(thread, "C1", view("parent")),
            owed.reply(thread, "C1", said("never")),
        ]

    watch, created = world.store.create_watch(
        target=SUBJECT.target, channel_id="C1", requester_id="U0A", now=T0, owe=owed_for
    )
    assert created
    world.notifier.fail["post_parent"] = [DestinationGone("gone", code="channel_not_found")]
    state = world.sender.deliver_now(owed.watch_thread(watch.id))
    assert state is ThreadState.GONE
    failed = world.store.get(watch.id)
    assert failed is not None
    assert failed.state is WatchState.FAILED
    assert world.store.outbox_backlog(now=world.clock())[0] == 0  # the reply was dropped
    world.advance(LATER)
    drain(world.sender)
    assert world.notifier.names() == ["post_parent"]


# --- the token is refused ---------------------------------------------------------------


def test_a_refused_token_pauses_delivery_and_is_logged_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    refused = NotAuthorized("token_revoked", code="token_revoked")
    world.notifier.fail["post_parent"] = [refused, refused]
    world.owe(owed.parent("t:1", "C1", view("one")), owed.parent("t:2", "C2", view("two")))
    with caplog.at_level(logging.INFO, logger="bot.delivery.sender"):
        drain(world.sender)
        assert world.notifier.calls == [("post_parent", "C1:one")]  # the other waits too
        assert world.sender.status.not_authorized == "token_revoked"

        world.advance(AUTH_PROBE_SECONDS)  # a probe: refused again
        drain(world.sender)
        refusals = [r for r in caplog.records if "refuses our token" in r.getMessage()]
        assert len(refusals) == 1
        assert world.notifier.calls.count(("post_parent", "C2:two")) == 0

        world.advance(AUTH_PROBE_SECONDS)  # the token works again
        drain(world.sender)
    assert world.sender.status.not_authorized is None
    assert ("post_parent", "C2:two") in world.notifier.calls
    assert any("accepts our token again" in r.getMessage() for r in caplog.records)


# --- unreadable messages ----------------------------------------------------------------


def corrupt(world: World, key: str, body: str) -> None:
    """Overwrite a stored message's JSON, as a bad migration or a hand edit would."""
    with world.store._write() as connection:  # the one way in to corrupt a stored row
        connection.execute(sa.update(outbox).where(outbox.c.key == key).values(body=body))


def test_a_message_that_is_not_json_is_dropped_and_the_thread_goes_on(world: World) -> None:
    opened(world)
    broken, fine = owed.reply("t:1", "C1", said("x")), owed.reply("t:1", "C1", said("ok"))
    world.owe(broken, fine)
    corrupt(world, broken.key, "{not json")
    drain(world.sender)
    assert world.notifier.calls == [("notify", "C1-p1:ok")]


def test_a_message_with_an_unknown_state_is_dropped_and_the_thread_goes_on(world: World) -> None:
    opened(world)
    edit = owed.edit("t:1", "C1", view("v1"))
    world.owe(edit, owed.reply("t:1", "C1", said("ok")))
    text = world.store.pending("t:1")[0].body.replace('"state":"active"', '"state":"bogus"')
    corrupt(world, edit.key, text)
    drain(world.sender)
    assert world.notifier.calls == [("notify", "C1-p1:ok")]
