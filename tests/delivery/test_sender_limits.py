"""The sender within its budget of Slack's limits: completions first, edits never hold
replies, parents refreshed stalest first with only their latest state (injected clocks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.budget import BudgetLimits, Limit
from bot.domain import owed
from bot.domain.events import PhaseChanged, Progressed, RegularOverdue
from bot.domain.owed import Kind
from bot.domain.progress import Phase, ProgressSnapshot
from tests.delivery.test_sender import (
    World,
    make_world,
    opened,
    said,
    view,
)
from tests.support.delivery import drain

#: Two edits a minute (one at once), one post a second per channel (one at once).
LIMITS = BudgetLimits(methods={"chat.update": Limit(2, 1)}, post_per_channel=Limit(60, 1))
#: One post a second per channel, two at once; no other method limited.
TWO_POSTS_AT_ONCE = BudgetLimits(methods={}, post_per_channel=Limit(60, 2))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    value = make_world(tmp_path, channel_interval=1.0, limits=LIMITS)
    yield value
    value.store.close()


def _open_all(world: World, count: int) -> None:
    for i in range(count):
        opened(world, f"t:{i}", f"C{i}")
        world.advance(1.0)  # each channel's post budget refills


def test_a_completion_goes_before_progress_replies_owed_earlier_in_its_channel(
    world: World,
) -> None:
    opened(world, "t:a", "C1")
    world.advance(1.0)
    opened(world, "t:b", "C1")
    world.advance(1.0)
    world.owe(owed.reply("t:a", "C1", said("progress")))
    world.owe(owed.reply("t:b", "C1", said("done"), final=True))
    drain(world.sender)
    assert [c for c in world.notifier.calls if c[0] == "notify"] == [("notify", "C1-p2:done")]
    world.advance(1.0)
    drain(world.sender)
    assert world.notifier.calls[-1] == ("notify", "C1-p1:progress")


def test_an_edit_held_by_its_budget_does_not_hold_the_replies_of_its_thread(
    world: World,
) -> None:
    _open_all(world, 2)
    world.owe(owed.edit("t:0", "C0", view("first edit")))
    drain(world.sender)  # the one edit of the budget
    world.owe(owed.edit("t:1", "C1", view("held")), owed.reply("t:1", "C1", said("news")))
    drain(world.sender)
    names = world.notifier.names()
    assert names.count("update_parent") == 1
    assert names[-1] == "notify"
    assert world.sender.held("chat.update") == pytest.approx(30.0)


def test_parents_are_refreshed_stalest_first_with_their_latest_state_only(world: World) -> None:
    _open_all(world, 3)
    world.notifier.calls.clear()
    world.owe(owed.edit("t:0", "C0", view("0 v1")))
    world.owe(owed.edit("t:1", "C1", view("1 v1")))
    world.owe(owed.edit("t:2", "C2", view("2 v1")))
    world.owe(owed.edit("t:1", "C1", view("1 v2")))  # replaces 1 v1, keeps its place
    world.owe(owed.edit("t:2", "C2", view("2 v2")))
    world.owe(owed.edit("t:0", "C0", view("0 v2")))  # replaces 0 v1
    edits = [e for t in ("t:0", "t:1", "t:2") for e in world.store.pending(t)]
    assert len(edits) == 3
    assert all(e.kind is Kind.EDIT for e in edits)
    for _ in range(3):
        drain(world.sender)
        world.advance(30.0)  # two edits a minute
    assert world.notifier.calls == [
        ("update_parent", "0 v2"),
        ("update_parent", "1 v2"),
        ("update_parent", "2 v2"),
    ]


def test_an_edit_already_attempted_is_not_rewritten_a_newer_one_follows_it(
    world: World,
) -> None:
    _open_all(world, 1)
    world.owe(owed.edit("t:0", "C0", view("v1")))
    (first,) = world.store.pending("t:0")
    world.store.start_attempt(first.id)  # in flight
    world.owe(owed.edit("t:0", "C0", view("v2")))
    bodies = [e.body for e in world.store.pending("t:0")]
    assert len(bodies) == 2
    assert "v1" in bodies[0]
    assert "v2" in bodies[1]


def test_a_final_reply_does_not_wait_for_the_progress_replies_it_makes_stale(
    world: World,
) -> None:
    opened(world, "t:a", "C1")
    world.advance(1.0)
    snap = ProgressSnapshot(phase=Phase.SCANNING)
    subject = view().subject
    assert not isinstance(subject, RegularOverdue)
    world.owe(
        owed.reply("t:a", "C1", Progressed(subject, None, snap)),
        owed.reply("t:a", "C1", said("stalled, kept")),
        owed.reply("t:a", "C1", PhaseChanged(subject, None, snap)),
        owed.reply("t:a", "C1", said("done"), final=True),
    )
    drain(world.sender)
    world.advance(1.0)
    drain(world.sender)
    assert [c for c in world.notifier.calls if c[0] == "notify"] == [
        ("notify", "C1-p1:stalled, kept"),
        ("notify", "C1-p1:done"),
    ]
    assert world.store.outbox_backlog(now=world.clock())[0] == 0


def test_progress_replies_leave_a_channel_post_for_a_completion_owed_after_them(
    tmp_path: Path,
) -> None:
    """Two posts at once per channel: one progress reply goes, the next keeps the last
    post for a thread's end — so a completion owed a moment later goes at once."""
    world = make_world(tmp_path, limits=TWO_POSTS_AT_ONCE)  # the budget paces, as in production
    store, notifier, sender = world.store, world.notifier, world.sender
    try:
        for key in ("t:a", "t:b", "t:c"):
            opened(world, key, "C1")
            world.advance(2.0)  # the channel's two posts are back
        notifier.calls.clear()
        world.owe(owed.reply("t:a", "C1", said("a moved")))
        world.owe(owed.reply("t:b", "C1", said("b moved")))
        drain(sender)
        assert [c for c in notifier.calls if c[0] == "notify"] == [("notify", "C1-p1:a moved")]
        world.owe(owed.reply("t:c", "C1", said("c done"), final=True))
        drain(sender)
        assert notifier.calls[-1] == ("notify", "C1-p3:c done")
        world.advance(2.0)
        drain(sender)
        assert notifier.calls[-1] == ("notify", "C1-p2:b moved")  # not lost: later
    finally:
        store.close()


def test_a_pass_does_not_claim_progress_threads_of_a_channel_kept_for_ends(
    tmp_path: Path,
) -> None:
    """Once a channel's last post is kept for threads' ends, the rest of the same pass
    skips that channel's progress-only threads before claiming them (a claim that can
    send nothing is a wasted database round trip)."""
    world = make_world(tmp_path, limits=TWO_POSTS_AT_ONCE)  # the budget paces, as in production
    store, notifier, sender = world.store, world.notifier, world.sender
    claimed: list[str] = []
    claim = store.claim_thread

    def counting_claim(thread_key: str, **kwargs: Any) -> bool:
        claimed.append(thread_key)
        return claim(thread_key, **kwargs)

    try:
        keys = ("t:a", "t:b", "t:c", "t:d")
        for key in keys:
            opened(world, key, "C1")
            world.advance(2.0)
        notifier.calls.clear()
        for key in keys:
            world.owe(owed.reply(key, "C1", said(f"{key} moved")))
        store.claim_thread = counting_claim  # type: ignore[method-assign]
        drain(sender)
        assert [c for c in notifier.calls if c[0] == "notify"] == [("notify", "C1-p1:t:a moved")]
        assert claimed == ["t:a", "t:b"]  # t:b met the reserve; t:c and t:d were not claimed
        world.advance(2.0)
        drain(sender)
        assert ("notify", "C1-p2:t:b moved") in notifier.calls  # they wait, not lost
    finally:
        store.close()
