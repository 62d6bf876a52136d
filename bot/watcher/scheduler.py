"""The one scheduler and its jobs, each with an explicit id, coalesced, one run at a time.

Jobs: ``scanbot.poll`` (every ``SCANBOT_POLL_SECONDS``) and ``scanbot.prune`` (hourly).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

POLL_JOB_ID = "scanbot.poll"
PRUNE_JOB_ID = "scanbot.prune"


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
    return scheduler


def _log_job_error(event: JobExecutionEvent) -> None:
    """The one place where an unexpected error in a job ends up: logged with its traceback."""
    log.error(
        "job %s failed; it runs again next interval",
        event.job_id,
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
    )
