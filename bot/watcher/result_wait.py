"""Looking for a completed scan's result after "Scan complete" was told.

A console may write an image's result some time after its progress answer says the scan is
complete, and ``GET /registry`` allows only 30 requests per 30 s.  The final reply is never
held back for it (:mod:`bot.watcher.ending`); instead each poll cycle looks again, at most
once per image every :data:`CHECK_EVERY`, in the same batched lookup (:func:`look_up`) as
the images whose scans end in that cycle (those first), and owes one
more reply in the thread: the result when it appears (:class:`ResultArrived`), or, once
``SCANBOT_RESULT_WAIT_MINUTES`` have passed, that the console has no result of this scan
(:class:`ResultMissing`).  An older result is never taken for this scan's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain import owed
from bot.domain.console_types import ScanResult
from bot.domain.events import ImageFollow, ResultArrived, ResultMissing
from bot.domain.images import ScanTarget
from bot.domain.owed import watch_thread
from bot.domain.results import is_fresh
from bot.domain.watch import Watch
from bot.watcher.context import WatchContext, link
from bot.watcher.ending import result_wait

log = logging.getLogger(__name__)

#: At most one ``GET /registry`` per image this often while its result is awaited.
CHECK_EVERY = timedelta(seconds=30)


def due(waiting: Sequence[Watch], now: datetime) -> list[ScanTarget]:
    """The images of ``waiting`` whose result is to be looked for now: never asked yet, or
    last asked :data:`CHECK_EVERY` ago."""
    by_image: dict[str, list[Watch]] = {}
    for watch in waiting:
        by_image.setdefault(watch.target.key, []).append(watch)
    targets: list[ScanTarget] = []
    for group in by_image.values():
        checked = max((w.result_checked_at for w in group if w.result_checked_at), default=None)
        if checked is None or now - checked >= CHECK_EVERY:
            targets.append(group[0].target)
    return targets


def look_up(ctx: WatchContext, targets: Sequence[ScanTarget]) -> dict[str, ScanResult | None]:
    """The results of ``targets`` the console gives now (one batched ``GET /registry``,
    never waiting for its rate limit); an image left out is asked at a later cycle."""
    if not targets:
        return {}
    lookup = ctx.services.console.scan_results(targets)
    if lookup.problem:
        told = len(lookup.found)
        log.info(
            "scan results of %d of %d images not looked up now: %s",
            len(targets) - told,
            len(targets),
            lookup.problem,
        )
    return dict(lookup.found)


def look_for_results(
    ctx: WatchContext, results: dict[str, ScanResult | None], waiting: Sequence[Watch]
) -> dict[str, int]:
    """Settle the ``waiting`` watches whose image ``results`` has an answer for (the cycle
    looked them up with :func:`look_up`); returns how many arrived, went missing, wait on.

    A result not there (not due, or not asked: the rate limit) keeps its watches waiting;
    they are told "no result" only once their wait is over.
    """
    if not waiting:
        return {}
    store = ctx.services.store
    now = ctx.services.clock()
    by_image: dict[str, list[Watch]] = {}
    for watch in waiting:
        by_image.setdefault(watch.target.key, []).append(watch)
    counts = {"arrived": 0, "missing": 0, "waiting": 0}
    for key, group in by_image.items():
        asked = key in results
        result = results.get(key)
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
