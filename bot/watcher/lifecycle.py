"""What happens to a watch: start, each poll's answer, stop (its end: :mod:`.ending`).

Plain functions over :class:`WatchContext`; the listener calls :func:`follow` and
:func:`stop`, the poll cycle calls :func:`advance`.  The watcher decides and never sees
Slack: every change is stored together with the messages it owes (parent, edits, replies)
in one transaction, and the outbox's sender delivers them (:mod:`bot.delivery.sender`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.console.errors import ConsoleUnavailable
from bot.domain import owed
from bot.domain.console_types import ScanResult
from bot.domain.estimate import estimate, sample
from bot.domain.events import (
    ImageFollow,
    ParentView,
    Stopped,
)
from bot.domain.follow_state import FollowState
from bot.domain.images import ScanTarget
from bot.domain.owed import Owed, watch_thread
from bot.domain.ports import ThreadState
from bot.domain.progress import Phase, ProgressSnapshot, interpret, snapshot
from bot.domain.watch import Watch, WatchState
from bot.watcher import stall
from bot.watcher.context import (
    Answer,
    Outcome,
    WatchContext,
    final_edit,
    link,
    parent_owed,
    thread_reply,
)
from bot.watcher.ending import complete, expire, scan_result

__all__ = [
    "Answer",
    "FollowResult",
    "Outcome",
    "Quiet",
    "WatchContext",
    "advance",
    "answered",
    "ends",
    "follow",
    "stop",
]

log = logging.getLogger(__name__)

#: A PENDING watch older than this whose parent was never owed (a row written before the
#: outbox existed) gets its parent owed by the poll cycle.
PENDING_GRACE = timedelta(seconds=60)


# --- starting -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoScanRunning:
    """The console answered ``[]``: no on-demand scan of that image is in progress."""


@dataclass(frozen=True, slots=True)
class JustFinished:
    """The console reported the scan finished (served once); nothing left to follow."""

    snap: ProgressSnapshot
    result: ScanResult | None


@dataclass(frozen=True, slots=True)
class AlreadyFollowing:
    watch: Watch


@dataclass(frozen=True, slots=True)
class ChannelUnavailable:
    """The channel cannot be posted in (e.g. the bot is not a member)."""

    error: str


@dataclass(frozen=True, slots=True)
class Started:
    watch: Watch


FollowResult = NoScanRunning | JustFinished | AlreadyFollowing | ChannelUnavailable | Started


def follow(ctx: WatchContext, target: ScanTarget, *, channel_id: str, user_id: str) -> FollowResult:
    """Ask the console about ``target`` and, if its scan runs, start a watch and post its parent.

    The watch and the parent it owes are stored together; the parent is then delivered
    here at once, so a channel the bot cannot post in is told to the user.  Raises
    :class:`ConsoleError` when the console cannot answer.
    """
    services = ctx.services
    existing = services.store.find_open(channel_id=channel_id, target_key=target.key)
    if existing is not None:
        return AlreadyFollowing(existing)
    entries = services.console.progress(target)
    if not entries:
        return NoScanRunning()
    snap = snapshot(entries)
    if snap.phase.finished:
        return JustFinished(snap, scan_result(ctx, target))
    now = services.clock()
    # What the console says of the image before this scan's result: the diff's baseline.
    baseline = scan_result(ctx, target)
    watch, created = services.store.create_watch(
        target=target,
        channel_id=channel_id,
        requester_id=user_id,
        now=now,
        snapshot=snap,
        owe=lambda new: [parent_owed(ctx, new, snap, now)],
        follow=sample(FollowState(baseline=baseline), snap, now),
    )
    if not created:
        return AlreadyFollowing(watch)
    if ctx.delivery.deliver_now(watch_thread(watch.id)) is ThreadState.GONE:
        return ChannelUnavailable("the channel cannot be posted in")
    return Started(watch)  # as created: nothing reads it back (it cost 6 % of a follow)


# --- stopping -------------------------------------------------------------------------


def stop(ctx: WatchContext, watch: Watch, *, by_user: str) -> bool:
    """Stop following ``watch``; False when it had already ended (completed, stopped)."""
    now = ctx.services.clock()

    def owes(finished: Watch) -> list[Owed]:
        snap = finished.last_snapshot or ProgressSnapshot(phase=Phase.IDLE)
        thread = watch_thread(finished.id)
        stopped = Stopped(ImageFollow.of(finished), by_user=by_user)
        return [
            final_edit(ctx, finished, snap, now),
            owed.reply(thread, finished.channel_id, stopped, final=True),
        ]

    finished = ctx.services.store.finish(watch.id, state=WatchState.STOPPED, now=now, owe=owes)
    if finished is None:
        return False
    ctx.delivery.deliver_now(watch_thread(finished.id))
    return True


# --- each poll ------------------------------------------------------------------------


def advance(
    ctx: WatchContext,
    watch: Watch,
    answer: Answer | None,
    *,
    results: dict[str, ScanResult | None] | None = None,
) -> Outcome:
    """Apply one poll's answer to one open watch; returns what was done (for the report).

    ``answer`` is None when the console's answer did not arrive within this cycle.
    ``results`` holds the results the cycle looked up before (one batched ``GET /registry``
    for every image whose scan ends in it); a scan that ends without its result there is
    told complete at once all the same, and its result follows.  Nothing here talks to Slack: the
    messages a change owes are stored with it, and the sender delivers them.
    """
    quiet = Quiet(ctx)(watch, answer, watch.watched_seconds)
    if quiet is not None:
        return quiet
    now = ctx.services.clock()
    if watch.state is WatchState.PENDING and now - watch.created_at >= PENDING_GRACE:
        # Owed once by key: a no-op unless the row predates the outbox.
        pending_parent = parent_owed(ctx, watch, watch.last_snapshot or _DISCOVERING, now)
        ctx.services.store.owe([pending_parent], now=now)
    if watch.watched_seconds >= ctx.services.settings.scanbot_max_watch_seconds:
        return expire(ctx, watch, now)
    if answer is None:
        return Outcome.WAITING
    if answer.error is not None:
        # An unreachable console is logged once per change (bot.process.health), not per cycle.
        unreachable = isinstance(answer.error, ConsoleUnavailable)
        level = logging.DEBUG if unreachable else logging.WARNING
        log.log(level, "console error for %s: %s", watch.target.key, answer.error)
        return Outcome.CONSOLE_ERROR
    snap = answered(watch, answer)
    if snap.phase.finished:
        return complete(ctx, watch, snap, now, results)
    return _progress(ctx, watch, snap, now)


class Quiet:
    """What :func:`advance` decides for a watch the answer asks nothing of — still waiting
    for its answer, or unchanged and not stalling — decided without building anything:
    the poll cycle's path over thousands of watches that do not move.

    One per cycle: it remembers, per pair of snapshot objects, whether they differ (the
    watches of one image share the answer's snapshot and, mostly, their stored one).
    """

    def __init__(self, ctx: WatchContext) -> None:
        self._max_watch = ctx.services.settings.scanbot_max_watch_seconds
        self._stall_after = stall.after_seconds(ctx.services)
        self._moved: dict[int, dict[int, bool]] = {}  # id(snap) -> id(previous) -> moved

    def __call__(self, watch: Watch, answer: Answer | None, watched: float) -> Outcome | None:
        """WAITING or UNCHANGED when that is all :func:`advance` would do for ``watch``
        followed ``watched`` seconds; None when it has something to decide."""
        if watch.state is not WatchState.ACTIVE or watched >= self._max_watch:
            return None
        if answer is None:
            return Outcome.WAITING
        snap = answer.snap
        if answer.error is not None or not answer.entries or snap is None or snap.phase.finished:
            return None
        previous = watch.last_snapshot
        against = self._moved.get(id(snap))
        if against is None:
            against = self._moved[id(snap)] = {}
        moved = against.get(id(previous))
        if moved is None:
            moved = against[id(previous)] = snap.changed_from(previous)
        if moved:
            return None
        follow = watch.follow
        if not follow.stalled and watched - follow.moved_after >= self._stall_after:
            return None  # a stall to tell
        return Outcome.UNCHANGED

    def bound(self, watch: Watch) -> float:
        """The time followed at which a watch left alone as UNCHANGED (the same watch, the
        same answer) may stop being left alone: its stall or its expiry."""
        follow = watch.follow
        if follow.stalled:
            return self._max_watch
        return min(self._max_watch, follow.moved_after + self._stall_after)


def answered(watch: Watch, answer: Answer) -> ProgressSnapshot:
    """What a console answer (not an error) says of ``watch``'s scan.

    ``[]`` after the scan was seen running means it completed: the once-only "finished"
    answer went to someone else (another request or an earlier process)."""
    assert answer.entries is not None
    if answer.entries and answer.snap is not None:
        return answer.snap  # what interpret() gives for a non-empty answer
    return interpret(answer.entries, saw_running=True, last=watch.last_snapshot)


def ends(watch: Watch, answer: Answer | None) -> bool:
    """Whether this answer ends ``watch``'s scan (the poll cycle looks up its result first)."""
    if answer is None or answer.error is not None:
        return False
    return answered(watch, answer).phase.finished


_DISCOVERING = ProgressSnapshot(phase=Phase.DISCOVERING)


def _progress(ctx: WatchContext, watch: Watch, snap: ProgressSnapshot, now: datetime) -> Outcome:
    previous = watch.last_snapshot
    moved = snap.changed_from(previous)
    follow, change = stall.check(
        watch.follow,
        moved=moved,
        followed=watch.watched_seconds,
        after_seconds=stall.after_seconds(ctx.services),
    )
    if not moved and change is stall.Change.NONE:
        return Outcome.UNCHANGED  # no database write, no message
    follow = sample(follow, snap, now)
    thread = watch_thread(watch.id)
    view = ParentView.of(
        watch,
        snap,
        now=now,
        estimate=estimate(follow, snap, now),
        stalled=follow.stalled,
        console_link=link(ctx, watch),
    )
    messages = [owed.edit(thread, watch.channel_id, view)]
    subject = ImageFollow.of(watch)
    messages += stall.replies(
        ctx.services,
        change,
        thread_key=thread,
        channel_id=watch.channel_id,
        subject=subject,
        snap=snap,
        before=watch.follow,
        after=follow,
        followed=watch.watched_seconds,
    )
    replied = change is not stall.Change.NONE
    if moved:  # not moved: a stall was told, no progress reply
        last_reply_at = watch.last_thread_post_at or watch.created_at
        reply = thread_reply(ctx, subject, previous, snap, last_reply_at=last_reply_at, now=now)
        if reply is not None:
            messages.append(owed.reply(thread, watch.channel_id, reply))
            replied = True
    recorded = ctx.services.store.record_progress(
        watch.id,
        snapshot=snap,
        saw_running=True,
        thread_posted_at=now if replied and moved else None,
        now=now,
        owed=messages,
        follow=follow,
    )
    if not recorded.state.is_open:
        return Outcome.ENDED_MEANWHILE
    if change is stall.Change.STALLED:
        return Outcome.STALLED
    return Outcome.REPLIED if replied else Outcome.UPDATED
