"""What happens to a watch: start, each poll's answer, completion, expiry, stop.

Plain functions over :class:`WatchContext`; the listener calls :func:`follow` and
:func:`stop`, the poll cycle calls :func:`advance`.  The watcher decides and tells a
:class:`~bot.services.Notifier` about domain events; it never sees Slack.  Ordering rule
for crash safety: a message that ends a watch is sent *before* the watch is marked
finished, so a crash in between repeats the message rather than loses it (at-least-once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.console.errors import ConsoleError
from bot.console.models import ProgressEntry, ScanResult
from bot.delivery import owed
from bot.delivery.owed import Owed, watch_thread
from bot.estimate import estimate, sample
from bot.follow_state import FollowState
from bot.images import ScanTarget
from bot.notify import (
    Completed,
    Expired,
    Failed,
    ImageFollow,
    ParentView,
    PhaseChanged,
    Progressed,
    Stopped,
)
from bot.progress import Phase, ProgressSnapshot, interpret, snapshot
from bot.results import console_link, is_fresh
from bot.services import Delivery, Services, ThreadState
from bot.watch import Watch, WatchState
from bot.watcher import stall

#: How long a completed watch waits for the console's result of *this* scan (it can lag the
#: progress answer) before saying that the result is not available yet.
RESULT_WAIT = timedelta(minutes=5)

log = logging.getLogger(__name__)

#: A PENDING watch older than this whose parent was never owed (a row written before the
#: outbox existed) gets its parent owed by the poll cycle.
PENDING_GRACE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class WatchContext:
    services: Services
    delivery: Delivery


class Outcome(StrEnum):
    """What one poll did to one watch (counted in the cycle's report)."""

    PENDING = "pending"  # the listener may still be posting its parent
    WAITING = "waiting"  # the console's answer did not arrive this cycle
    CONSOLE_ERROR = "console-error"  # the console could not answer; tried again next cycle
    UNCHANGED = "unchanged"  # nothing a user would care about changed: no Slack call
    UPDATED = "updated"  # the parent was edited
    REPLIED = "replied"  # the parent was edited and the thread got a reply
    STALLED = "stalled"  # the counts have not moved for SCANBOT_STALL_MINUTES: told once
    FINISHING = "finishing"  # the scan ended; waiting for the console's fresh result
    COMPLETED = "completed"  # the scan ended; the final reply went out
    EXPIRED = "expired"  # following gave up after SCANBOT_MAX_WATCH_SECONDS
    LEASE_LOST = "lease-lost"  # another replica took the poll lease mid-cycle
    ENDED_MEANWHILE = "ended-meanwhile"  # stopped (or finished) while the console was asked


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
    if snap.phase in (Phase.COMPLETE, Phase.FAILED):
        return JustFinished(snap, _scan_result(ctx, target))
    now = services.clock()
    # What the console says of the image before this scan's result: the diff's baseline.
    baseline = _scan_result(ctx, target)
    watch, created = services.store.create_watch(
        target=target,
        channel_id=channel_id,
        requester_id=user_id,
        now=now,
        snapshot=snap,
        owe=lambda new: [_parent(ctx, new, snap, now)],
        follow=sample(FollowState(baseline=baseline), snap, now),
    )
    if not created:
        return AlreadyFollowing(watch)
    if ctx.delivery.deliver_now(watch_thread(watch.id)) is ThreadState.GONE:
        return ChannelUnavailable("the channel cannot be posted in")
    return Started(services.store.get(watch.id) or watch)


def _link(ctx: WatchContext, watch: Watch) -> str:
    return console_link(ctx.services.settings.prisma_console_url, watch.target)


def _parent(ctx: WatchContext, watch: Watch, snap: ProgressSnapshot, now: datetime) -> Owed:
    view = ParentView.of(watch, snap, now=now, console_link=_link(ctx, watch))
    return owed.parent(watch_thread(watch.id), watch.channel_id, view)


def _final(ctx: WatchContext, watch: Watch, snap: ProgressSnapshot, now: datetime) -> Owed:
    """The parent's last edit: the final state, without the Stop button."""
    view = ParentView.of(watch, snap, now=now, console_link=_link(ctx, watch))
    return owed.edit(watch_thread(watch.id), watch.channel_id, view, final=True)


# --- stopping -------------------------------------------------------------------------


def stop(ctx: WatchContext, watch: Watch, *, by_user: str) -> bool:
    """Stop following ``watch``; False when it had already ended (completed, stopped)."""
    now = ctx.services.clock()

    def owes(finished: Watch) -> list[Owed]:
        snap = finished.last_snapshot or ProgressSnapshot(phase=Phase.IDLE)
        thread = watch_thread(finished.id)
        stopped = Stopped(ImageFollow.of(finished), by_user=by_user)
        return [
            _final(ctx, finished, snap, now),
            owed.reply(thread, finished.channel_id, stopped, final=True),
        ]

    finished = ctx.services.store.finish(watch.id, state=WatchState.STOPPED, now=now, owe=owes)
    if finished is None:
        return False
    ctx.delivery.deliver_now(watch_thread(finished.id))
    return True


# --- each poll ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """The console's answer for one image in one poll cycle: entries, or the error."""

    entries: list[ProgressEntry] | None = None
    error: ConsoleError | None = None
    #: ``snapshot(entries)``, computed once per answer however many watches it serves.
    snap: ProgressSnapshot | None = None

    @classmethod
    def of(cls, entries: list[ProgressEntry]) -> Answer:
        return cls(entries=entries, snap=snapshot(entries) if entries else None)


def advance(
    ctx: WatchContext,
    watch: Watch,
    answer: Answer | None,
    *,
    results: dict[str, ScanResult | None] | None = None,
) -> Outcome:
    """Apply one poll's answer to one open watch; returns what was done (for the report).

    ``answer`` is None when the console's answer did not arrive within this cycle.
    ``results`` memoises vulnerability summaries for this cycle: one ``GET /registry`` per
    image however many watches of it complete together.  Nothing here talks to Slack: the
    messages a change owes are stored with it, and the sender delivers them.
    """
    now = ctx.services.clock()
    if watch.state is WatchState.PENDING and now - watch.created_at >= PENDING_GRACE:
        # Owed once by key: a no-op unless the row predates the outbox.
        pending_parent = _parent(ctx, watch, watch.last_snapshot or _DISCOVERING, now)
        ctx.services.store.owe([pending_parent], now=now)
    if watch.watched_seconds >= ctx.services.settings.scanbot_max_watch_seconds:
        return _expire(ctx, watch, now)
    if answer is None:
        return Outcome.WAITING
    if answer.error is not None:
        log.warning("console error for %s: %s", watch.target.key, answer.error)
        return Outcome.CONSOLE_ERROR
    assert answer.entries is not None
    # [] after the scan was seen running means it completed: the once-only "finished"
    # answer went to someone else (another request or an earlier process).
    if answer.entries and answer.snap is not None:
        snap = answer.snap  # what interpret() gives for a non-empty answer
    else:
        snap = interpret(answer.entries, saw_running=True, last=watch.last_snapshot)
    if snap.phase in (Phase.COMPLETE, Phase.FAILED):
        return _complete(ctx, watch, snap, now, results)
    return _progress(ctx, watch, snap, now)


_DISCOVERING = ProgressSnapshot(phase=Phase.DISCOVERING)


def _max_watch(ctx: WatchContext) -> timedelta:
    return timedelta(seconds=ctx.services.settings.scanbot_max_watch_seconds)


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
        console_link=_link(ctx, watch),
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
    if not moved:
        pass  # a stall told: no progress reply
    elif _turning_point(previous, snap):
        messages.append(owed.reply(thread, watch.channel_id, PhaseChanged(subject, previous, snap)))
        replied = True
    elif _progress_reply_due(ctx, watch, now):
        messages.append(owed.reply(thread, watch.channel_id, Progressed(subject, previous, snap)))
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


def _turning_point(previous: ProgressSnapshot | None, snap: ProgressSnapshot) -> bool:
    """Phase changes and new errors always get a reply in the thread."""
    return previous is None or previous.phase != snap.phase or previous.error != snap.error


def _progress_reply_due(ctx: WatchContext, watch: Watch, now: datetime) -> bool:
    """Progress-only replies: at most one per ``SCANBOT_THREAD_UPDATE_SECONDS``."""
    last = watch.last_thread_post_at or watch.created_at
    interval = timedelta(seconds=ctx.services.settings.scanbot_thread_update_seconds)
    return now - last >= interval


def _complete(
    ctx: WatchContext,
    watch: Watch,
    snap: ProgressSnapshot,
    now: datetime,
    results: dict[str, ScanResult | None] | None,
) -> Outcome:
    key = watch.target.key
    if results is None or key not in results:
        result = _scan_result(ctx, watch.target)
        if results is not None:
            results[key] = result
    else:
        result = results[key]
    follow = watch.follow
    subject = ImageFollow.of(watch)
    event: Completed | Failed
    if snap.phase is Phase.FAILED:
        event = Failed(subject, snap, duration=_duration(watch, snap, now), result=result)
        return _end(
            ctx, watch, WatchState.COMPLETED, event, parent_snap=snap, snapshot=snap, now=now
        )
    fresh = result is not None and is_fresh(
        result, baseline=follow.baseline, started_at=snap.started_at
    )
    since = follow.finishing_since or now
    if not fresh and now - since < RESULT_WAIT:
        # The result can lag the progress answer: ask again in the next cycles.
        ctx.services.store.record_progress(
            watch.id,
            snapshot=snap,
            saw_running=True,
            thread_posted_at=None,
            now=now,
            follow=replace(follow, finishing_since=since),
        )
        return Outcome.FINISHING
    if not fresh:
        log.info("%s: no result newer than this scan's start; not shown", watch.target.key)
    event = Completed(
        subject,
        snap,
        duration=_duration(watch, snap, since),
        result=result if fresh else None,
        baseline=follow.baseline,
        fresh=fresh,
        console_link=_link(ctx, watch),
    )
    return _end(ctx, watch, WatchState.COMPLETED, event, parent_snap=snap, snapshot=snap, now=now)


def _duration(watch: Watch, snap: ProgressSnapshot, now: datetime) -> timedelta:
    """How long the scan took: from its start to now, never less than the time followed.

    The time followed is measured per poll cycle, so a wall clock stepped back cannot
    make a long scan look as if it finished in no time.
    """
    started = snap.started_at or watch.created_at
    return max(now - started, timedelta(seconds=watch.watched_seconds), timedelta())


def _expire(ctx: WatchContext, watch: Watch, now: datetime) -> Outcome:
    event = Expired(ImageFollow.of(watch), watch.last_snapshot, max_duration=_max_watch(ctx))
    parent_snap = watch.last_snapshot or ProgressSnapshot(phase=Phase.IDLE)
    return _end(
        ctx, watch, WatchState.EXPIRED, event, parent_snap=parent_snap, snapshot=None, now=now
    )


def _end(
    ctx: WatchContext,
    watch: Watch,
    state: WatchState,
    event: Completed | Failed | Expired,
    *,
    parent_snap: ProgressSnapshot,
    snapshot: ProgressSnapshot | None,
    now: datetime,
) -> Outcome:
    """Finish the watch and owe its final reply and parent edit, in one transaction.

    Only the caller whose compare-and-set finished the watch owes them (a stop racing a
    completion tells one of the two, never both), and the reply's key is the same for
    every ending, so the end of a watch is told exactly once.
    """

    def owes(finished: Watch) -> list[Owed]:
        thread = watch_thread(finished.id)
        return [
            owed.reply(thread, finished.channel_id, event, final=True),
            _final(ctx, finished, parent_snap, now),
        ]

    finished = ctx.services.store.finish(
        watch.id, state=state, now=now, snapshot=snapshot, owe=owes
    )
    if finished is None:
        return Outcome.ENDED_MEANWHILE
    return Outcome.COMPLETED if state is WatchState.COMPLETED else Outcome.EXPIRED


def _scan_result(ctx: WatchContext, target: ScanTarget) -> ScanResult | None:
    """The image's vulnerability summary, or None when the console cannot give it now."""
    try:
        return ctx.services.console.scan_result(target)
    except ConsoleError as exc:
        log.info("no scan result for %s: %s", target.key, exc)
        return None
