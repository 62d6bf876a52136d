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
from bot.images import ScanTarget
from bot.notify import (
    Completed,
    DeliveryError,
    Destination,
    DestinationGone,
    Expired,
    Failed,
    ImageFollow,
    MessageGone,
    ParentView,
    PhaseChanged,
    Progressed,
    Stopped,
    destination_of,
)
from bot.progress import Phase, ProgressSnapshot, interpret, snapshot
from bot.services import Notifier, Services
from bot.watch import Watch, WatchState

log = logging.getLogger(__name__)

#: A PENDING watch younger than this may still be in the hands of the listener posting it.
PENDING_GRACE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class WatchContext:
    services: Services
    notifier: Notifier


class Outcome(StrEnum):
    """What one poll did to one watch (counted in the cycle's report)."""

    PENDING = "pending"  # the listener may still be posting its parent
    WAITING = "waiting"  # the console's answer did not arrive this cycle
    CONSOLE_ERROR = "console-error"  # the console could not answer; tried again next cycle
    UNCHANGED = "unchanged"  # nothing a user would care about changed: no Slack call
    UPDATED = "updated"  # the parent was edited
    REPLIED = "replied"  # the parent was edited and the thread got a reply
    COMPLETED = "completed"  # the scan ended; the final reply went out
    EXPIRED = "expired"  # following gave up after SCANBOT_MAX_WATCH_SECONDS
    CHANNEL_GONE = "channel-gone"  # the channel cannot be posted in: the watch failed
    PARENT_GONE = "parent-gone"  # the parent message is gone: the watch failed
    SLACK_ERROR = "slack-error"  # delivery failed for now; tried again next cycle
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
    """Ask the console about ``target`` and, if its scan runs, post the parent and start a watch.

    Raises :class:`ConsoleError` when the console cannot answer.
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
    watch, created = services.store.create_watch(
        target=target, channel_id=channel_id, requester_id=user_id, now=now
    )
    if not created:
        return AlreadyFollowing(watch)
    watch = services.store.record_progress(
        watch.id, snapshot=snap, saw_running=True, thread_posted_at=None, now=now
    )
    try:
        thread = ctx.notifier.post_parent(channel_id, ParentView.of(watch, snap, now=now))
    except DestinationGone as exc:
        services.store.finish(watch.id, state=WatchState.FAILED, now=services.clock())
        return ChannelUnavailable(exc.code)
    activated = _activate(ctx, watch, thread)
    if activated.state is not WatchState.ACTIVE:
        # Stopped while the parent was being posted: show the final state, no button.
        ctx.notifier.update_parent(thread, ParentView.of(activated, snap, now=now))
    return Started(activated)


def _activate(ctx: WatchContext, watch: Watch, thread: Destination) -> Watch:
    assert thread.thread_ts is not None
    services = ctx.services
    return services.store.activate(watch.id, parent_ts=thread.thread_ts, now=services.clock())


# --- stopping -------------------------------------------------------------------------


def stop(ctx: WatchContext, watch: Watch, *, by_user: str) -> bool:
    """Stop following ``watch``; False when it had already ended."""
    now = ctx.services.clock()
    finished = ctx.services.store.finish(watch.id, state=WatchState.STOPPED, now=now)
    if finished is None:
        return False
    snap = finished.last_snapshot or ProgressSnapshot(phase=Phase.IDLE)
    thread = destination_of(finished)
    ctx.notifier.update_parent(thread, ParentView.of(finished, snap, now=now))
    ctx.notifier.notify(thread, Stopped(ImageFollow.of(finished), by_user=by_user))
    return True


# --- each poll ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """The console's answer for one image in one poll cycle: entries, or the error."""

    entries: list[ProgressEntry] | None = None
    error: ConsoleError | None = None


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
    image however many watches of it complete together.  A gone channel or parent message
    ends the watch as FAILED; other delivery errors (:class:`~bot.notify.DeliveryFailed`)
    propagate so the cycle moves on and the watch is tried again next cycle.
    """
    now = ctx.services.clock()
    try:
        return _advance(ctx, watch, answer, now, results)
    except (DestinationGone, MessageGone) as exc:
        gone = Outcome.CHANNEL_GONE if isinstance(exc, DestinationGone) else Outcome.PARENT_GONE
        log.warning("watch %s in %s ends: %s (%s)", watch.id, watch.channel_id, gone, exc.code)
        ctx.services.store.finish(watch.id, state=WatchState.FAILED, now=now)
        return gone


def _advance(
    ctx: WatchContext,
    watch: Watch,
    answer: Answer | None,
    now: datetime,
    results: dict[str, ScanResult | None] | None,
) -> Outcome:
    if watch.state is WatchState.PENDING:
        if now - watch.created_at < PENDING_GRACE:
            return Outcome.PENDING
        watch = _adopt_parent(ctx, watch, now)
    if now - watch.created_at >= _max_watch(ctx):
        return _expire(ctx, watch, now)
    if answer is None:
        return Outcome.WAITING
    if answer.error is not None:
        log.warning("console error for %s: %s", watch.target.key, answer.error)
        return Outcome.CONSOLE_ERROR
    assert answer.entries is not None
    # [] after the scan was seen running means it completed: the once-only "finished"
    # answer went to someone else (another request or an earlier process).
    snap = interpret(answer.entries, saw_running=True, last=watch.last_snapshot)
    if snap.phase in (Phase.COMPLETE, Phase.FAILED):
        return _complete(ctx, watch, snap, now, results)
    return _progress(ctx, watch, snap, now)


def _max_watch(ctx: WatchContext) -> timedelta:
    return timedelta(seconds=ctx.services.settings.scanbot_max_watch_seconds)


def _progress(ctx: WatchContext, watch: Watch, snap: ProgressSnapshot, now: datetime) -> Outcome:
    previous = watch.last_snapshot
    if not snap.changed_from(previous):
        return Outcome.UNCHANGED
    thread = destination_of(watch)
    ctx.notifier.update_parent(thread, ParentView.of(watch, snap, now=now))
    thread_posted_at: datetime | None = None
    subject = ImageFollow.of(watch)
    if _turning_point(previous, snap):
        ctx.notifier.notify(thread, PhaseChanged(subject, previous, snap))
        thread_posted_at = now
    elif _progress_reply_due(ctx, watch, now):
        ctx.notifier.notify(thread, Progressed(subject, previous, snap))
        thread_posted_at = now
    ctx.services.store.record_progress(
        watch.id, snapshot=snap, saw_running=True, thread_posted_at=thread_posted_at, now=now
    )
    return Outcome.REPLIED if thread_posted_at else Outcome.UPDATED


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
    final = replace(watch, state=WatchState.COMPLETED, finished_at=now, last_snapshot=snap)
    started = snap.started_at or watch.created_at
    key = watch.target.key
    if results is None or key not in results:
        result = _scan_result(ctx, watch.target)
        if results is not None:
            results[key] = result
    else:
        result = results[key]
    duration = max(now - started, timedelta())
    subject = ImageFollow.of(watch)
    if snap.phase is Phase.FAILED:
        event: Completed | Failed = Failed(subject, snap, duration=duration, result=result)
    else:
        event = Completed(subject, snap, duration=duration, result=result)
    _end(ctx, final, event, parent_snap=snap, snapshot=snap, now=now)
    return Outcome.COMPLETED


def _expire(ctx: WatchContext, watch: Watch, now: datetime) -> Outcome:
    final = replace(watch, state=WatchState.EXPIRED, finished_at=now)
    event = Expired(ImageFollow.of(watch), watch.last_snapshot, max_duration=_max_watch(ctx))
    parent_snap = watch.last_snapshot or ProgressSnapshot(phase=Phase.IDLE)
    _end(ctx, final, event, parent_snap=parent_snap, snapshot=None, now=now)
    return Outcome.EXPIRED


def _end(
    ctx: WatchContext,
    final: Watch,
    event: Completed | Failed | Expired,
    *,
    parent_snap: ProgressSnapshot,
    snapshot: ProgressSnapshot | None,
    now: datetime,
) -> None:
    """Send the final reply, mark the watch finished, then show the final parent.

    The reply comes first (a crash before ``finish`` repeats it rather than loses it);
    the parent edit comes last and is best effort, so a parent that can no longer be
    edited never keeps a finished watch open (nor repeats its final reply).
    """
    thread = destination_of(final)
    ctx.notifier.notify(thread, event)
    ctx.services.store.finish(final.id, state=final.state, now=now, snapshot=snapshot)
    try:
        ctx.notifier.update_parent(thread, ParentView.of(final, parent_snap, now=now))
    except DeliveryError as exc:
        log.warning("watch %s ended; its parent could not be updated: %s", final.id, exc)


def _adopt_parent(ctx: WatchContext, watch: Watch, now: datetime) -> Watch:
    """A PENDING watch outlived the listener that created it: adopt or post its parent."""
    snap = watch.last_snapshot or ProgressSnapshot(phase=Phase.DISCOVERING)
    thread = ctx.notifier.find_parent(watch.channel_id, ImageFollow.of(watch))
    if thread is None:
        thread = ctx.notifier.post_parent(watch.channel_id, ParentView.of(watch, snap, now=now))
    assert thread.thread_ts is not None
    return ctx.services.store.activate(watch.id, parent_ts=thread.thread_ts, now=now)


def _scan_result(ctx: WatchContext, target: ScanTarget) -> ScanResult | None:
    """The image's vulnerability summary, or None when the console cannot give it now."""
    try:
        return ctx.services.console.scan_result(target)
    except ConsoleError as exc:
        log.info("no scan result for %s: %s", target.key, exc)
        return None
