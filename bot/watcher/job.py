"""The poll cycle: one console request per distinct image, then each watch advances.

:func:`poll_cycle` is a plain function — the scheduler calls it every
``SCANBOT_POLL_SECONDS``, tests call it directly.  Console requests run on the lanes of
:class:`~bot.watcher.fetcher.ConsoleFetcher`; an image whose answer has not arrived when
the cycle's budget runs out is skipped this cycle, and its request is *not* sent again
while it is still in flight, so a slow console neither stalls the cycle nor receives more
than one request per image at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.domain.console_types import ScanResult
from bot.domain.watch import Watch
from bot.process.logcontext import log_context
from bot.watcher import deadman, regular, result_wait
from bot.watcher.fetcher import ConsoleFetcher
from bot.watcher.lifecycle import Answer, Outcome, Quiet, WatchContext, advance, ends
from bot.watcher.open_watches import Listing, OpenWatches
from bot.watcher.quiet_images import Plan, QuietImages

log = logging.getLogger(__name__)

#: Name of the database lease that lets one replica at a time run the cycle.
POLL_LOCK = "scanbot.poll-cycle"


@dataclass(frozen=True, slots=True)
class CycleReport:
    ran: bool  # False when another replica holds the poll lease
    watches: int = 0
    images: int = 0
    console_requests: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=dict)
    regular: dict[Outcome, int] = field(default_factory=dict)  # subscribed regular-scan runs
    results: dict[str, int] = field(default_factory=dict)  # awaited results: arrived, ...
    deadman: str = ""  # the dead-man's switch: overdue, recovered, ok ("" not asked)


def poll_lease(settings_poll_seconds: float) -> timedelta:
    """How long the poll lease lasts without renewal: several cycles, at least 10 s."""
    return timedelta(seconds=max(10.0, 3 * settings_poll_seconds))


def poll_cycle(
    ctx: WatchContext,
    fetcher: ConsoleFetcher,
    *,
    owner: str,
    watched: WatchedTime | None = None,
    open_watches: OpenWatches | None = None,
    quiet: QuietImages | None = None,
) -> CycleReport:
    """Poll every open watch once.  Safe to call from one thread at a time per process.

    Database work is per cycle, not per watch: the follow clock moved (one row),
    one light read of the open watches (``open_watches`` keeps them between cycles and
    reads whole rows only where they changed; None: every row is read), the poll lease
    renewed after the console wait (and again only when a long cycle needs it), one more
    light read for what changed meanwhile; an unchanged watch costs no database work and
    no object at all, and with ``quiet`` an image whose watches all stay quiet is passed
    over whole (:mod:`bot.watcher.quiet_images`).  Slack is not called here: the
    messages each change owes are stored with it, and the sender is woken after the
    watches.
    """
    services = ctx.services
    settings = services.settings
    started = time.perf_counter()
    lease = poll_lease(settings.scanbot_poll_seconds)
    if not services.store.try_lock(POLL_LOCK, owner=owner, ttl=lease, now=services.clock()):
        log.debug("poll lease held by another replica; skipping this cycle")
        return CycleReport(ran=False)
    # The time followed since the last cycle goes to every watch open now (the follow
    # clock moves: one row), before the watches are read: they are read with it.
    elapsed = watched.tick(services.clock()) if watched is not None else 0.0
    if elapsed > 0:
        services.store.add_watched_time_to_open(elapsed)
    keeper = open_watches if open_watches is not None else OpenWatches(services.store)
    listing = keeper.read()
    if quiet is not None:
        quiet.see(listing)
    watches = listing.watches
    budget = max(1.0, 0.8 * settings.scanbot_poll_seconds)
    deadline = time.monotonic() + budget
    follow_regular = regular.wanted(ctx)
    regular_sent = fetcher.start_regular() if follow_regular else 0
    answers, sent = fetcher.fetch(watches, budget=budget)
    sent += regular_sent
    # Waiting for the console took time: renew the lease before acting on the answers.
    if not services.store.try_lock(POLL_LOCK, owner=owner, ttl=lease, now=services.clock()):
        log.warning("poll lease lost while waiting for the console; skipping this cycle")
        return CycleReport(ran=False, console_requests=sent)
    # A user may have stopped a watch, or its parent been posted, while the console was
    # asked: act on the watches as they are now (rows re-read only where they changed).
    fresh = keeper.read()
    # Images whose watches are all still quiet with the same answer are passed over whole
    # (only while the list did not change meanwhile: then the watches are the same objects).
    planned = None
    if quiet is not None and fresh.watches is watches:
        planned = (quiet, quiet.plan(fresh, answers))
    looked = fresh.watches if planned is None else [fresh.watches[i] for i in planned[1].look_at]
    # Results first, for every scan that ends now and every result awaited: one batched
    # GET /registry that never waits for its rate limit, so no completion waits for it.
    waiting = services.store.awaiting_results()
    ending = [w.target for w in looked if _may_end(answers.get(w.id)) and ends(w, answers[w.id])]
    results = result_wait.look_up(ctx, ending + result_wait.due(waiting, services.clock()))
    outcomes = _advance_all(
        ctx,
        watches,
        fresh,
        answers,
        results,
        quiet=planned,
        renew=lambda: services.store.try_lock(
            POLL_LOCK, owner=owner, ttl=lease, now=services.clock()
        ),
        renew_every=lease.total_seconds() / 3,
    )
    lost = outcomes[Outcome.LEASE_LOST]
    awaited = {} if lost else result_wait.look_for_results(ctx, results, waiting)
    regular_outcomes: dict[Outcome, int] = {}
    if follow_regular:
        answer = fetcher.regular_answer(budget=max(0.0, deadline - time.monotonic()))
        regular_outcomes = regular.advance_all(ctx, answer, elapsed=elapsed)
    switch = deadman.check(ctx) if not outcomes[Outcome.LEASE_LOST] else ""
    ctx.delivery.kick()
    report = CycleReport(
        ran=True,
        watches=len(watches),
        images=len(fetcher.images(watches)),
        console_requests=sent,
        outcomes=dict(outcomes),
        regular=regular_outcomes,
        results=awaited,
        deadman=switch,
    )
    if watches:
        log.info(
            "poll cycle: %d watches, %d images, %d console requests, %s",
            report.watches,
            report.images,
            report.console_requests,
            {str(k): v for k, v in report.outcomes.items()},
            extra={"outcome": "ok", "duration_ms": round(1000 * (time.perf_counter() - started))},
        )
    return report


def _may_end(answer: Answer | None) -> bool:
    """False for the answers that end no scan whatever the watch (most of them): none, an
    error, or a scan still under way; the others ask :func:`ends`."""
    if answer is None or answer.error is not None:
        return False
    return not answer.entries or answer.snap is None or answer.snap.phase.finished


def _advance_all(
    ctx: WatchContext,
    watches: Sequence[Watch],
    fresh: Listing,
    answers: dict[int, Answer],
    results: dict[str, ScanResult | None],
    *,
    quiet: tuple[QuietImages, Plan] | None,
    renew: Callable[[], bool],
    renew_every: float,
) -> Counter[Outcome]:
    """Each watch listed at the start, as it is now (``fresh``), takes its answer: the
    quiet ones in a few comparisons, the others through :func:`advance`; with ``quiet``
    (the list did not change meanwhile), only the watches its plan looks at.  The poll
    lease is renewed every ``renew_every`` seconds; once lost, the rest waits for a next
    cycle."""
    outcomes: Counter[Outcome] = Counter()
    still = Quiet(ctx)
    renewed = time.monotonic()
    # Nothing changed meanwhile: the same list, each watch at its own place.
    positions = None if fresh.watches is watches else fresh.positions()
    indices: Sequence[int] = range(len(watches)) if quiet is None else quiet[1].look_at
    loud: set[str] = set()  # images one of whose watches was not left alone
    for index in indices:
        listed = watches[index]
        if time.monotonic() - renewed > renew_every:
            if not renew():
                log.warning("poll lease lost during the cycle; the rest waits for the next one")
                outcomes[Outcome.LEASE_LOST] += 1
                break
            renewed = time.monotonic()
        now_at = index if positions is None else positions.get(listed.id)
        if now_at is None:
            outcomes[Outcome.ENDED_MEANWHILE] += 1
            continue
        watch, watched = fresh.watches[now_at], fresh.watched(now_at)
        answer = answers.get(listed.id)
        outcome = still(watch, answer, watched)
        if outcome is not Outcome.UNCHANGED and quiet is not None:
            loud.add(quiet[0].image_of(index))
        if outcome is None:
            watch = replace(watch, watched_seconds=watched)
            with log_context(watch_id=watch.id, channel=watch.channel_id, image=watch.target.key):
                outcome = advance(ctx, watch, answer, results=results)
        outcomes[outcome] += 1
    if quiet is not None and not outcomes[Outcome.LEASE_LOST]:
        images, plan = quiet
        if plan.passed:
            outcomes[Outcome.UNCHANGED] += plan.passed
        images.remember(fresh, answers, loud, still.bound)
    return outcomes


class WatchedTime:
    """Time actually spent following, measured between this process's poll cycles.

    Each cycle adds the time since the previous one, never less than 0 and never more
    than ``cap`` seconds: a wall clock stepped forward (or a process paused for a day)
    cannot expire a watch at once, and one stepped back adds nothing.
    """

    def __init__(self, *, cap: float) -> None:
        self._cap = cap
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def tick(self, now: datetime) -> float:
        with self._lock:
            last, self._last = self._last, now
        if last is None:
            return 0.0
        return min(self._cap, max(0.0, (now - last).total_seconds()))


def prune_history(ctx: WatchContext) -> int:
    """Forget watches, and delivered messages, older than ``SCANBOT_RETENTION_DAYS`` (hourly).

    Messages still owed are never forgotten, whatever their age.
    """
    services = ctx.services
    days = services.settings.scanbot_retention_days
    cutoff = services.clock() - timedelta(days=days)
    removed = services.store.prune_finished(finished_before=cutoff)
    messages = services.store.prune_outbox(created_before=cutoff)
    if removed or messages:
        log.info(
            "forgot %d watches and %d delivered messages older than %g days",
            removed,
            messages,
            days,
        )
    return removed
