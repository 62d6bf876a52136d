"""Looking for a completed scan's result after "Scan complete" was told.

A console may write an image's result some time after its progress answer says the scan is
complete.  The final reply is never held back for it (:mod:`bot.watcher.ending`); instead
each poll cycle looks again, at most once per image every :data:`CHECK_EVERY`, and owes one
more reply in the thread: the result when it appears (:class:`ResultArrived`), or, once
``SCANBOT_RESULT_WAIT_MINUTES`` have passed, that the console has no result of this scan
(:class:`ResultMissing`).  An older result is never taken for this scan's.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain import owed
from bot.domain.console_types import ScanResult
from bot.domain.events import ImageFollow, ResultArrived, ResultMissing
from bot.domain.owed import watch_thread
from bot.domain.results import is_fresh
from bot.domain.watch import Watch
from bot.watcher.context import WatchContext, link
from bot.watcher.ending import result_wait, scan_result

log = logging.getLogger(__name__)

#: At most one ``GET /registry`` per image this often while its result is awaited.
CHECK_EVERY = timedelta(seconds=30)


def look_for_results(ctx: WatchContext, results: dict[str, ScanResult | None]) -> dict[str, int]:
    """One look at every awaited result; returns how many arrived, went missing, wait on.

    ``results`` is the cycle's memo of ``GET /registry`` answers per image (shared with the
    watches that completed in this cycle, so an image is asked about once per cycle).
    """
    store = ctx.services.store
    waiting = store.awaiting_results()
    if not waiting:
        return {}
    now = ctx.services.clock()
    by_image: dict[str, list[Watch]] = {}
    for watch in waiting:
        by_image.setdefault(watch.target.key, []).append(watch)
    counts = {"arrived": 0, "missing": 0, "waiting": 0}
    for key, group in by_image.items():
        checked = max((w.result_checked_at for w in group if w.result_checked_at), default=None)
        asked = key in results
        if not asked and (checked is None or now - checked >= CHECK_EVERY):
            results[key] = scan_result(ctx, group[0].target)
            asked = True
        result = results.get(key) if asked else None
        still: list[int] = []
        for watch in group:
            outcome = _settle(ctx, watch, result, now)
            counts[outcome] += 1
            if outcome == "waiting":
                still.append(watch.id)
        if asked and still:
            store.result_checked(still, now=now)
    return {name: count for name, count in counts.items() if count}


def _settle(ctx: WatchContext, watch: Watch, result: ScanResult | None, now: datetime) -> str:
    """Owe the result's reply if it is this scan's, or the "no result" reply once it is late."""
    started = watch.last_snapshot.started_at if watch.last_snapshot is not None else None
    subject = ImageFollow.of(watch)
    thread = watch_thread(watch.id)
    if result is not None and is_fresh(result, baseline=watch.follow.baseline, started_at=started):
        arrived = ResultArrived(
            subject, result, baseline=watch.follow.baseline, console_link=link(ctx, watch)
        )
        reply = owed.once(thread, watch.channel_id, arrived, name="result")
        ctx.services.store.settle_result(watch.id, owed=[reply], now=now)
        return "arrived"
    assert watch.result_wait_until is not None
    if now < watch.result_wait_until:
        return "waiting"
    older = result if result is not None else watch.follow.baseline
    missing = ResultMissing(
        subject, waited=result_wait(ctx), older=older, console_link=link(ctx, watch)
    )
    reply = owed.once(thread, watch.channel_id, missing, name="result")
    if ctx.services.store.settle_result(watch.id, owed=[reply], now=now):
        log.info("%s: the console wrote no result of this scan in time", watch.target.key)
    return "missing"
