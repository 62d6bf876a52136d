"""Runs the poll cycle for the scheduler and keeps an outage to a few log lines.

What cannot succeed is not attempted every second: while the database cannot be written,
cycles back off (1, 2, 4 … 60 s); while Slack refuses our token, no console request is
made at all.  Each problem is logged once when it starts and once when it ends, with a
count in between, and :meth:`PollSupervisor.problems` names it for ``/readyz``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.watcher.job import CycleReport

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0


@dataclass
class _Problem:
    reason: str
    since: float
    count: int = 1


@dataclass
class PollSupervisor:
    """Wraps ``cycle`` (one poll) with back-off and once-per-change logging."""

    cycle: Callable[[], CycleReport]
    slack_refused: Callable[[], str | None]  # the Slack error code while our token is refused
    sqlite_path: Path | None = None  # the SQLite file, to recreate it if it was deleted
    recreate_database: Callable[[], None] | None = None
    # What happened to the SQLite file opened (deleted, replaced), None while it is intact.
    file_problem: Callable[[], str | None] = lambda: None
    # Told once per lost database file, with the reason (``/healthz`` turns 503 for good).
    database_lost: Callable[[str], None] = lambda _reason: None
    monotonic: Callable[[], float] = time.monotonic
    _problems: dict[str, _Problem] = field(default_factory=dict)
    _resume_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> CycleReport | None:
        """One scheduled run: a poll cycle, unless a known problem says to wait."""
        now = self.monotonic()
        refused = self.slack_refused()
        if refused is not None:
            self._start("slack", f"Slack refuses the bot token ({refused}); polling paused")
            return None
        self._end("slack", "Slack accepts the bot token again; polling resumed")
        if now < self._resume_at:
            return None
        self._check_file()
        try:
            report = self.cycle()
        except SQLAlchemyError as exc:
            self._storage_failed(exc)
            return None
        self._end("database", "the database answers again; polling resumed")
        return report

    def problems(self) -> dict[str, str]:
        """What keeps the bot from working now, by component (empty when all is well)."""
        with self._lock:
            return {name: problem.reason for name, problem in self._problems.items()}

    def _check_file(self) -> None:
        """Before each cycle: is the SQLite file still the one opened?  Open connections
        go on writing to a deleted file without an error, so only its path tells."""
        problem = self.file_problem()
        if problem is None:
            return
        reason = (
            f"the SQLite database {self.sqlite_path} was changed under the running bot "
            f"({problem}): everything stored since it was opened is lost (open watches, "
            "subscriptions, messages owed); recreating an empty database at that path; "
            "restart scanbot once the cause is found"
        )
        log.error("%s", reason)
        self.database_lost(reason)
        if self.recreate_database is not None:
            try:
                self.recreate_database()
            except SQLAlchemyError as exc:
                self._storage_failed(exc)

    def _storage_failed(self, exc: SQLAlchemyError) -> None:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        # A deleted SQLite file is either missing or, once a connection reopened it, empty.
        lost = self.sqlite_path is not None and (
            not self.sqlite_path.exists() or "no such table" in reason
        )
        if lost:
            log.warning(
                "the database file %s was deleted: recreating it; open watches were lost",
                self.sqlite_path,
            )
            if self.recreate_database is not None:
                try:
                    self.recreate_database()
                    return
                except SQLAlchemyError as again:
                    reason = str(getattr(again, "orig", None) or again).splitlines()[0][:200]
        problem = self._start("database", f"the database cannot be used: {reason}")
        backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** min(problem.count - 1, 6))
        self._resume_at = self.monotonic() + backoff

    def _start(self, name: str, reason: str) -> _Problem:
        with self._lock:
            problem = self._problems.get(name)
            if problem is None:
                problem = self._problems[name] = _Problem(reason, self.monotonic())
                log.error("%s", reason)
            else:
                problem.count += 1
                problem.reason = reason
            return problem

    def _end(self, name: str, message: str) -> None:
        with self._lock:
            problem = self._problems.pop(name, None)
        if problem is not None:
            took = self.monotonic() - problem.since
            log.warning("%s (after %.0f s and %d failed cycles)", message, took, problem.count)
