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

from slack_sdk.errors import SlackApiError

from bot.console.errors import ConsoleError
from bot.console.models import ProgressEntry
from bot.images import ScanTarget
from bot.services import Console
from bot.watch import Watch
from bot.watcher.lifecycle import Answer, WatchContext, advance

log = logging.getLogger(__name__)

#: Name of the database lease that lets one replica at a time run the cycle.
POLL_LOCK = "scanbot.poll-cycle"


@dataclass(frozen=True, slots=True)
class CycleReport:
    ran: bool  # False when another replica holds the poll lease
    watches: int = 0
    images: int = 0
    console_requests: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class ConsoleFetcher:
    """Runs console progress requests on a bounded pool, at most one in flight per image."""

    def __init__(self, console: Console, *, workers: int) -> None:
        self._console = console
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scanbot-console")
        self._inflight: dict[str, Future[list[ProgressEntry]]] = {}
        self._lock = threading.Lock()

    def fetch(
        self, targets: dict[str, ScanTarget], *, budget: float
    ) -> tuple[dict[str, Answer], int]:
        """Answers per image key that arrived within ``budget`` seconds, and requests sent."""
        sent = 0
        with self._lock:
            futures: dict[str, Future[list[ProgressEntry]]] = {}
            for key, target in targets.items():
                future = self._inflight.get(key)
                if future is None:
                    future = self._pool.submit(self._console.progress, target)
                    self._inflight[key] = future
                    sent += 1
                futures[key] = future
        wait(futures.values(), timeout=budget)
        answers: dict[str, Answer] = {}
        with self._lock:
            for key, future in futures.items():
                if not future.done():
                    continue
                del self._inflight[key]
                error = future.exception()
                if error is None:
                    answers[key] = Answer(entries=future.result())
                elif isinstance(error, ConsoleError):
                    answers[key] = Answer(error=error)
                else:
                    raise error
        return answers, sent

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def poll_cycle(ctx: WatchContext, fetcher: ConsoleFetcher, *, owner: str) -> CycleReport:
    """Poll every open watch once.  Safe to call from one thread at a time per process."""
    services = ctx.services
    settings = services.settings
    lease = timedelta(seconds=max(60.0, 3 * settings.scanbot_poll_seconds))
    if not services.store.try_lock(POLL_LOCK, owner=owner, ttl=lease, now=services.clock()):
        log.debug("poll lease held by another replica; skipping this cycle")
        return CycleReport(ran=False)
    watches = services.store.list_open()
    targets: dict[str, ScanTarget] = {}
    for watch in watches:
        targets.setdefault(watch.target.key, watch.target)
    answers, sent = fetcher.fetch(targets, budget=max(1.0, 0.8 * settings.scanbot_poll_seconds))
    outcomes: Counter[str] = Counter()
    for watch in watches:
        outcomes[_advance_one(ctx, watch, answers.get(watch.target.key))] += 1
    report = CycleReport(
        ran=True,
        watches=len(watches),
        images=len(targets),
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


def _advance_one(ctx: WatchContext, watch: Watch, answer: Answer | None) -> str:
    try:
        return advance(ctx, watch, answer)
    except SlackApiError as exc:
        # Slack kept failing (after the client's own retries): try this watch next cycle.
        log.warning("watch %s: Slack call failed, will retry next cycle: %s", watch.id, exc)
        return "slack-error"


def prune_history(ctx: WatchContext) -> int:
    """Forget watches that ended more than ``SCANBOT_RETENTION_DAYS`` ago (hourly job)."""
    services = ctx.services
    days = services.settings.scanbot_retention_days
    removed = services.store.prune_finished(finished_before=services.clock() - timedelta(days=days))
    if removed:
        log.info("forgot %d watches that ended more than %g days ago", removed, days)
    return removed
