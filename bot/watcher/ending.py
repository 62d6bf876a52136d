"""How a watch ends: completed (with this scan's result), failed, or expired.

Finishing a watch and owing its final reply and parent edit are one transaction, and only
the caller whose compare-and-set finished it owes them: the end is told exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
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

#: How long a completed watch waits for the console's result of *this* scan (it can lag the
#: progress answer) before saying that the result is not available yet.
RESULT_WAIT = timedelta(minutes=5)


def complete(
    ctx: WatchContext,
    watch: Watch,
    snap: ProgressSnapshot,
    now: datetime,
    results: dict[str, ScanResult | None] | None,
) -> Outcome:
    key = watch.target.key
    if results is None or key not in results:
        result = scan_result(ctx, watch.target)
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
        console_link=link(ctx, watch),
    )
    return _end(ctx, watch, WatchState.COMPLETED, event, parent_snap=snap, snapshot=snap, now=now)


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
        watch.id, state=state, now=now, snapshot=snapshot, owe=owes
    )
    if finished is None:
        return Outcome.ENDED_MEANWHILE
    return Outcome.COMPLETED if state is WatchState.COMPLETED else Outcome.EXPIRED


def scan_result(ctx: WatchContext, target: ScanTarget) -> ScanResult | None:
    """The image's vulnerability summary, or None when the console cannot give it now."""
    try:
        return ctx.services.console.scan_result(target)
    except ConsoleError as exc:
        log.info("no scan result for %s: %s", target.key, exc)
        return None
