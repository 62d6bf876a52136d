"""The poll cycle: one console request per distinct image, then each watch advances.

:func:`poll_cycle` is a plain function — the scheduler calls it every
``SCANBOT_POLL_SECONDS``, tests call it directly.  Console requests run on a bounded
pool; an image whose answer has not arrived when the cycle's budget runs out is skipped
this cycle, and its request is *not* sent again while it is still in flight, so a slow
console neither stalls the cycle nor receives more than one request per image at a time.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

from bot.console.errors import ConsoleError
from bot.console.models import ProgressEntry, ScanResult
from bot.notify import DeliveryFailed
from bot.services import Console
from bot.watch import Watch
from bot.watcher.lifecycle import Answer, Outcome, WatchContext, advance

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


@dataclass(slots=True)
class _InFlight:
    future: Future[list[ProgressEntry]]
    for_watches: frozenset[int]  # the watches open when the request was sent


class ConsoleFetcher:
    """Runs console progress requests on a bounded pool, at most one in flight per image.

    An answer is only ever applied to the watches that were open when its request was
    sent: a late answer about an earlier scan never reaches a newer watch of that image.
    """

    def __init__(self, console: Console, *, workers: int) -> None:
        self._console = console
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scanbot-console")
        self._inflight: dict[str, _InFlight] = {}
        self._lock = threading.Lock()

    def fetch(self, watches: list[Watch], *, budget: float) -> tuple[dict[int, Answer], int]:
        """Answers per watch id that arrived within ``budget`` seconds, and requests sent."""
        by_key: dict[str, list[Watch]] = {}
        for watch in watches:
            by_key.setdefault(watch.target.key, []).append(watch)
        sent = 0
        with self._lock:
            # Requests for images nobody follows any more: their answers are of no use.
            for key in [key for key in self._inflight if key not in by_key]:
                del self._inflight[key]
            pending: dict[str, _InFlight] = {}
            for key, group in by_key.items():
                request = self._inflight.get(key)
                if request is None:
                    future = self._pool.submit(self._console.progress, group[0].target)
                    request = _InFlight(future, frozenset(w.id for w in group))
                    self._inflight[key] = request
                    sent += 1
                pending[key] = request
        wait([request.future for request in pending.values()], timeout=budget)
        answers: dict[int, Answer] = {}
        with self._lock:
            for key, request in pending.items():
                if not request.future.done():
                    continue
                if self._inflight.get(key) is request:
                    del self._inflight[key]
                answer = _answer(request.future)
                for watch in by_key[key]:
                    if watch.id in request.for_watches:
                        answers[watch.id] = answer
        return answers, sent

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _answer(future: Future[list[ProgressEntry]]) -> Answer:
    error = future.exception()
    if error is None:
        return Answer(entries=future.result())
    if isinstance(error, ConsoleError):
        return Answer(error=error)
    raise error


def poll_lease(settings_poll_seconds: float) -> timedelta:
    """How long the poll lease lasts without renewal: several cycles, at least 10 s."""
    return timedelta(seconds=max(10.0, 3 * settings_poll_seconds))


def poll_cycle(ctx: WatchContext, fetcher: ConsoleFetcher, *, owner: str) -> CycleReport:
    """Poll every open watch once.  Safe to call from one thread at a time per process."""
    services = ctx.services
    settings = services.settings
    lease = poll_lease(settings.scanbot_poll_seconds)
    if not services.store.try_lock(POLL_LOCK, owner=owner, ttl=lease, now=services.clock()):
        log.debug("poll lease held by another replica; skipping this cycle")
        return CycleReport(ran=False)
    watches = services.store.list_open()
    answers, sent = fetcher.fetch(watches, budget=max(1.0, 0.8 * settings.scanbot_poll_seconds))
    # Waiting for the console took time: renew the lease before acting on the answers.
    if not services.store.try_lock(POLL_LOCK, owner=owner, ttl=lease, now=services.clock()):
        log.warning("poll lease lost while waiting for the console; skipping this cycle")
        return CycleReport(ran=False, console_requests=sent)
    outcomes: Counter[Outcome] = Counter()
    results: dict[str, ScanResult | None] = {}
    for listed in watches:
        # Slack calls (and their 429 back-offs) take time: keep the lease before each watch.
        if not services.store.try_lock(POLL_LOCK, owner=owner, ttl=lease, now=services.clock()):
            log.warning("poll lease lost during the cycle; the rest waits for the next one")
            outcomes[Outcome.LEASE_LOST] += 1
            break
        # Re-read: a user may have stopped the watch while the console was being asked.
        watch = services.store.get(listed.id)
        if watch is None or not watch.state.is_open:
            outcomes[Outcome.ENDED_MEANWHILE] += 1
            continue
        outcomes[_advance_one(ctx, watch, answers.get(watch.id), results)] += 1
    report = CycleReport(
        ran=True,
        watches=len(watches),
        images=len({watch.target.key for watch in watches}),
        console_requests=sent,
        outcomes=dict(outcomes),
    )
    if watches:
        log.info(
            "poll cycle: %d watches, %d images, %d console requests, %s",
            report.watches,
            report.images,
            report.console_requests,
            report.outcomes,
        )
    return report


def _advance_one(
    ctx: WatchContext, watch: Watch, answer: Answer | None, results: dict[str, ScanResult | None]
) -> Outcome:
    try:
        return advance(ctx, watch, answer, results=results)
    except DeliveryFailed as exc:
        # Delivery kept failing (after the transport's own retries): try again next cycle.
        log.warning("watch %s: delivery failed, will retry next cycle: %s", watch.id, exc)
        return Outcome.SLACK_ERROR


def prune_history(ctx: WatchContext) -> int:
    """Forget watches that ended more than ``SCANBOT_RETENTION_DAYS`` ago (hourly job)."""
    services = ctx.services
    days = services.settings.scanbot_retention_days
    removed = services.store.prune_finished(finished_before=services.clock() - timedelta(days=days))
    if removed:
        log.info("forgot %d watches that ended more than %g days ago", removed, days)
    return removed
