"""What happens to a watch: start, each poll's answer, completion, expiry, stop.

Plain functions over :class:`WatchContext`; the listener calls :func:`follow` and
:func:`stop`, the poll cycle calls :func:`advance`.  Ordering rule for crash safety:
a message that ends a watch is posted *before* the watch is marked finished, so a crash
in between repeats the message rather than loses it (at-least-once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot.console.errors import ConsoleError
from bot.console.models import ProgressEntry, ScanResult
from bot.images import ScanTarget
from bot.progress import Phase, ProgressSnapshot, StepView, snapshot
from bot.services import Services
from bot.slack import blocks
from bot.slack.message import SlackMessage
from bot.slack.poster import WatchPoster, channel_gone, parent_gone, slack_error_code
from bot.watch import Watch, WatchState

log = logging.getLogger(__name__)

#: A PENDING watch younger than this may still be in the hands of the listener posting it.
PENDING_GRACE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class WatchContext:
    services: Services
    poster: WatchPoster


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
    """Slack refused to post in the channel (e.g. ``not_in_channel``)."""

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
        parent_ts = ctx.poster.post_parent(watch, snap, now=now)
    except SlackApiError as exc:
        if not channel_gone(exc):
            raise
        services.store.finish(watch.id, state=WatchState.FAILED, now=services.clock())
        return ChannelUnavailable(slack_error_code(exc))
    activated = services.store.activate(watch.id, parent_ts=parent_ts, now=services.clock())
    if activated.state is not WatchState.ACTIVE:
        # Stopped while the parent was being posted: show the final state, no button.
        ctx.poster.update_parent(replace(activated, parent_ts=parent_ts), snap, now=now)
    return Started(activated)


# --- stopping -------------------------------------------------------------------------


def stop(ctx: WatchContext, watch: Watch, *, by_user: str) -> bool:
    """Stop following ``watch``; False when it had already ended."""
    now = ctx.services.clock()
    finished = ctx.services.store.finish(watch.id, state=WatchState.STOPPED, now=now)
    if finished is None:
        return False
    snap = finished.last_snapshot or ProgressSnapshot(phase=Phase.IDLE)
    ctx.poster.update_parent(finished, snap, now=now)
    ctx.poster.reply(finished, blocks.watch_stopped(finished, by_user=by_user))
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
) -> str:
    """Apply one poll's answer to one open watch; returns what was done (for the report).

    ``answer`` is None when the console's answer did not arrive within this cycle.
    ``results`` memoises vulnerability summaries for this cycle: one ``GET /registry`` per
    image however many watches of it complete together.  Slack errors meaning the channel
    or the parent message is gone end the watch as FAILED; other Slack errors propagate so
    the cycle moves on and the watch is tried again next cycle.
    """
    now = ctx.services.clock()
    try:
        if watch.state is WatchState.PENDING:
            if now - watch.created_at < PENDING_GRACE:
                return "pending"
            watch = _repost_parent(ctx, watch, now)
        if now - watch.created_at >= timedelta(
            seconds=ctx.services.settings.scanbot_max_watch_seconds
        ):
            return _expire(ctx, watch, now)
        if answer is None:
            return "waiting"
        if answer.error is not None:
            log.warning("console error for %s: %s", watch.target.key, answer.error)
            return "console-error"
        assert answer.entries is not None
        if not answer.entries:
            # The once-only "finished" answer went to someone else (another request or an
            # earlier process); having seen the scan run, [] means it completed.
            return _complete(ctx, watch, _completed_from(watch.last_snapshot), now, results)
        snap = snapshot(answer.entries)
        if snap.phase in (Phase.COMPLETE, Phase.FAILED):
            return _complete(ctx, watch, snap, now, results)
        return _progress(ctx, watch, snap, now)
    except SlackApiError as exc:
        if channel_gone(exc):
            outcome = "channel-gone"
        elif parent_gone(exc):
            outcome = "parent-gone"  # deleted by someone, or no longer editable
        else:
            raise
        log.warning(
            "watch %s in %s ends: %s (%s)",
            watch.id,
            watch.channel_id,
            outcome,
            slack_error_code(exc),
        )
        ctx.services.store.finish(watch.id, state=WatchState.FAILED, now=now)
        return outcome


def _progress(ctx: WatchContext, watch: Watch, snap: ProgressSnapshot, now: datetime) -> str:
    previous = watch.last_snapshot
    if not snap.changed_from(previous):
        return "unchanged"
    ctx.poster.update_parent(watch, snap, now=now)
    thread_posted_at: datetime | None = None
    if _reply_due(ctx, watch, previous, snap, now):
        ctx.poster.reply(watch, blocks.thread_update(watch, previous, snap))
        thread_posted_at = now
    ctx.services.store.record_progress(
        watch.id, snapshot=snap, saw_running=True, thread_posted_at=thread_posted_at, now=now
    )
    return "replied" if thread_posted_at else "updated"


def _reply_due(
    ctx: WatchContext,
    watch: Watch,
    previous: ProgressSnapshot | None,
    snap: ProgressSnapshot,
    now: datetime,
) -> bool:
    """Phase changes and errors always get a reply; progress-only ones are rate limited."""
    if previous is None or previous.phase != snap.phase or previous.error != snap.error:
        return True
    last = watch.last_thread_post_at or watch.created_at
    interval = timedelta(seconds=ctx.services.settings.scanbot_thread_update_seconds)
    return now - last >= interval


def _complete(
    ctx: WatchContext,
    watch: Watch,
    snap: ProgressSnapshot,
    now: datetime,
    results: dict[str, ScanResult | None] | None,
) -> str:
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
    message = blocks.scan_complete(final, snap, duration=duration, result=result)
    _end(ctx, final, message, parent_snap=snap, snapshot=snap, now=now)
    return "completed"


def _expire(ctx: WatchContext, watch: Watch, now: datetime) -> str:
    final = replace(watch, state=WatchState.EXPIRED, finished_at=now)
    max_duration = timedelta(seconds=ctx.services.settings.scanbot_max_watch_seconds)
    message = blocks.watch_expired(final, max_duration=max_duration)
    parent_snap = watch.last_snapshot or ProgressSnapshot(phase=Phase.IDLE)
    _end(ctx, final, message, parent_snap=parent_snap, snapshot=None, now=now)
    return "expired"


def _end(
    ctx: WatchContext,
    final: Watch,
    message: SlackMessage,
    *,
    parent_snap: ProgressSnapshot,
    snapshot: ProgressSnapshot | None,
    now: datetime,
) -> None:
    """Post the final reply, mark the watch finished, then show the final parent.

    The reply comes first (a crash before ``finish`` repeats it rather than loses it);
    the parent edit comes last and is best effort, so a parent that can no longer be
    edited never keeps a finished watch open (nor repeats its final reply).
    """
    ctx.poster.reply(final, message)
    ctx.services.store.finish(final.id, state=final.state, now=now, snapshot=snapshot)
    try:
        ctx.poster.update_parent(final, parent_snap, now=now)
    except SlackApiError as exc:
        log.warning("watch %s ended; its parent could not be updated: %s", final.id, exc)


def _repost_parent(ctx: WatchContext, watch: Watch, now: datetime) -> Watch:
    """A PENDING watch outlived the listener that created it: adopt or post its parent."""
    snap = watch.last_snapshot or ProgressSnapshot(phase=Phase.DISCOVERING)
    parent_ts = ctx.poster.find_parent(watch)
    if parent_ts is None:
        parent_ts = ctx.poster.post_parent(watch, snap, now=now)
    return ctx.services.store.activate(watch.id, parent_ts=parent_ts, now=now)


def _completed_from(last: ProgressSnapshot | None) -> ProgressSnapshot:
    """The final snapshot when the console only said ``[]``: every step done."""
    if last is None:
        return ProgressSnapshot(phase=Phase.COMPLETE)

    def done(step: StepView) -> StepView:
        return replace(step, scanned=step.total)

    return replace(
        last,
        phase=Phase.FAILED if last.error else Phase.COMPLETE,
        discovery=done(last.discovery),
        image_scan=done(last.image_scan),
    )


def _scan_result(ctx: WatchContext, target: ScanTarget) -> ScanResult | None:
    """The image's vulnerability summary, or None when the console cannot give it now."""
    try:
        return ctx.services.console.scan_result(target)
    except ConsoleError as exc:
        log.info("no scan result for %s: %s", target.key, exc)
        return None
