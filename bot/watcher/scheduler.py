"""The one scheduler and its jobs, each with an explicit id, coalesced, one run at a time.

Jobs: ``scanbot.poll`` (every ``SCANBOT_POLL_SECONDS``), ``scanbot.prune`` (hourly) and,
when ``SCANBOT_DIGEST_CHANNELS`` is set, ``scanbot.digest`` (``SCANBOT_DIGEST_CRON``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)

POLL_JOB_ID = "scanbot.poll"
PRUNE_JOB_ID = "scanbot.prune"
DIGEST_JOB_ID = "scanbot.digest"


def build_scheduler(
    poll: Callable[..., object],
    *,
    args: tuple[object, ...] = (),
    kwargs: dict[str, object] | None = None,
    poll_seconds: float,
    prune: Callable[[], object] | None = None,
) -> BackgroundScheduler:
    """A stopped scheduler with the poll job (and the hourly prune job); ``start()`` it.

    ``coalesce`` folds missed runs into one, ``max_instances=1`` never overlaps cycles,
    and the first cycle runs at once so watches resume right after a restart.
    """
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_job(
        poll,
        args=args,
        kwargs=kwargs or {},
        trigger="interval",
        seconds=poll_seconds,
        id=POLL_JOB_ID,
        name="poll open watches",
        next_run_time=datetime.now(UTC),
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    if prune is not None:
        scheduler.add_job(
            prune,
            trigger="interval",
            hours=1,
            id=PRUNE_JOB_ID,
            name="forget old finished watches",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
    scheduler.add_listener(_log_job_error, EVENT_JOB_ERROR)
    scheduler.add_listener(SkippedRuns(), EVENT_JOB_MAX_INSTANCES)
    return scheduler


class SkippedRuns:
    """APScheduler says "skipped: maximum number of running instances" once per interval
    while a long cycle runs; this says it once a minute, with a count (its own logger is
    quieted to ERROR in :mod:`bot.process.logging_setup`)."""

    def __init__(self, *, every: float = 60.0, monotonic: Callable[[], float] = time.monotonic):
        self._every = every
        self._monotonic = monotonic
        self._count = 0
        self._said_at: float | None = None

    def __call__(self, event: JobEvent) -> None:
        self._count += 1
        now = self._monotonic()
        if self._said_at is None or now - self._said_at >= self._every:
            log.warning(
                "job %s is still running; %d scheduled run(s) skipped so far",
                event.job_id,
                self._count,
            )
            self._said_at = now


def add_digest_job(
    scheduler: BackgroundScheduler, job: Callable[[], object], trigger: BaseTrigger
) -> None:
    """Add the on-call digest on its cron ``trigger``, plus one run at start.

    The job itself posts only when a scheduled time passed since the last digest, so the
    run at start posts a digest missed while the bot was down and nothing otherwise.
    """
    scheduler.add_job(
        job,
        trigger=trigger,
        id=DIGEST_JOB_ID,
        name="post the on-call digest",
        next_run_time=datetime.now(UTC),
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )


def _log_job_error(event: JobExecutionEvent) -> None:
    """The one place where an unexpected error in a job ends up: logged with its traceback."""
    log.error(
        "job %s failed; it runs again next interval",
        event.job_id,
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
    )
