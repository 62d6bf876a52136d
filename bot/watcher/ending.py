"""How a watch ends: completed (with this scan's result when the console has it), failed,
or expired.

Finishing a watch and owing its final reply and parent edit are one transaction, and only
the caller whose compare-and-set finished it owes them: the end is told exactly once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.console.errors import ConsoleError
from bot.domain import owed
from bot.domain.console_types import ScanResult
from bot.domain.events import Completed, Expired, Failed, ImageFollow
from bot.domain.images import ScanTarget
from bot.domain.owed import Owed, watch_thread
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.results import is_fresh
from bot.domain.watch import Watch, WatchState
from bot.watcher.context import Outcome, WatchContext, final_edit, link, max_watch

log = logging.getLogger(__name__)


def complete(
    ctx: WatchContext,
    watch: Watch,
    snap: ProgressSnapshot,
    now: datetime,
    results: dict[str, ScanResult | None] | None,
) -> Outcome:
    """The scan ended: its final reply and parent edit are owed now, in this cycle.

    When the console has not written this scan's result yet (it can lag the progress
    answer), or it could not be asked in this cycle (``results`` has no entry for the
    image: ``GET /registry``'s rate limit), the final reply says so and the watch keeps
    looking for it for ``SCANBOT_RESULT_WAIT_MINUTES`` (:mod:`bot.watcher.result_wait`);
    an older result is never shown as this scan's.  ``results`` None: asked here.
    """
    key = watch.target.key
    if results is None:
        result, asked = scan_result(ctx, watch.target), True
    else:
        result, asked = results.get(key), key in results
    follow = watch.follow
    subject = ImageFollow.of(watch)
    duration = _duration(watch, snap, now)
    if snap.phase is Phase.FAILED:
        failed = Failed(subject, snap, duration=duration, result=result)
        return _end(
            ctx, watch, WatchState.COMPLETED, failed, parent_snap=snap, snapshot=snap, now=now
        )
    fresh = result is not None and is_fresh(
        result, baseline=follow.baseline, started_at=snap.started_at
    )
    wait = result_wait(ctx) if not fresh else timedelta()
    event = Completed(
        subject,
        snap,
        duration=duration,
        result=result if fresh else None,
        baseline=follow.baseline,
        fresh=fresh,
        console_link=link(ctx, watch),
        result_wait=wait,
    )
    return _end(
        ctx,
        watch,
        WatchState.COMPLETED,
        event,
        parent_snap=snap,
        snapshot=snap,
        now=now,
        result_wait_until=now + wait if wait > timedelta() else None,
        result_asked=asked,
    )


def result_wait(ctx: WatchContext) -> timedelta:
    """How long a completed scan's result is looked for (``SCANBOT_RESULT_WAIT_MINUTES``)."""
    return timedelta(minutes=ctx.services.settings.scanbot_result_wait_minutes)


def _duration(watch: Watch, snap: ProgressSnapshot, now: datetime) -> timedelta:
    """How long the scan took: from its start to now, never less than the time followed.

    The time followed is measured per poll cycle, so a wall clock stepped back cannot
    make a long scan look as if it finished in no time.
    """
    started = snap.started_at or watch.created_at
    return max(now - started, timedelta(seconds=watch.watched_seconds), timedelta())


def expire(ctx: WatchContext, watch: Watch, now: datetime) -> Outcome:
    event = Expired(ImageFollow.of(watch), watch.last_snapshot, max_duration=max_watch(ctx))
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
    result_wait_until: datetime | None = None,
    result_asked: bool = True,
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
            final_edit(ctx, finished, parent_snap, now),
        ]

    finished = ctx.services.store.finish(
        watch.id,
        state=state,
        now=now,
        snapshot=snapshot,
        owe=owes,
        result_wait_until=result_wait_until,
        result_checked=result_asked,
    )
    if finished is None:
        return Outcome.ENDED_MEANWHILE
    ctx.delivery.kick()  # the end is told now, not after the rest of the cycle
    return Outcome.COMPLETED if state is WatchState.COMPLETED else Outcome.EXPIRED


def scan_result(ctx: WatchContext, target: ScanTarget) -> ScanResult | None:
    """The image's vulnerability summary, or None when the console cannot give it now."""
    try:
        return ctx.services.console.scan_result(target)
    except ConsoleError as exc:
        log.info("no scan result for %s: %s", target.key, exc)
        return None
