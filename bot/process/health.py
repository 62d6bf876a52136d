"""What this process knows about its own health: poll cycles, console answers, last error.

:class:`Health` is built by the runtime and updated by the poll cycle's wrapper
(:func:`observed_cycle`) and by the console client (it is a
:class:`~bot.console.observer.ConsoleObserver`).  Two questions are answered from it:

* **liveness** (``/healthz``, :meth:`Health.liveness`): can this process still make
  progress?  Only its own machinery counts — the scheduler thread, a poll cycle stuck past
  a bound, Slack work wedged.  An outside fault (database down, Slack refusing the token,
  console refusing the credentials) never fails it: restarting every replica would not fix
  the outside, and would take the bot's own explanations away from its users.
* **readiness** (``/readyz``, :meth:`Health.readiness`): can this replica take Slack
  requests?  Not while starting, stopping or with every place for Slack work taken;
  otherwise yes, with the outside faults listed as degraded ``reasons`` — users then get
  the bot's own explanation instead of Slack's ``dispatch_failed``.

Other parts add reasons of their own with :meth:`Health.set_reason` /
:meth:`Health.clear_reason`.  ``/scanprogress status`` shows :meth:`Health.state`.
Thread-safe; no I/O.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

#: Console outcomes that mean "the console does not accept our credentials".
AUTH_FAILURES = frozenset({"authentication_failed", "permission_denied"})
#: Console outcomes that mean "the console cannot be reached or does not answer".
UNREACHABLE = frozenset({"console_unavailable"})
#: A poll cycle running longer than this (or 10 poll intervals, if longer) is stuck.
STUCK_AFTER_SECONDS = 300.0


class Phase:
    """Where the process is in its life (``/readyz`` is 503 outside ``RUNNING``)."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"


T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HealthState:
    """A consistent copy of what :class:`Health` knows (all times timezone-aware UTC)."""

    started_at: datetime
    last_cycle_at: datetime | None = None  # when the last poll cycle ended, either way
    last_cycle_ok: bool | None = None
    last_cycle_seconds: float | None = None
    last_success_at: datetime | None = None
    console_auth_ok: bool | None = None  # None: no authenticated console answer yet
    console_auth_error: str = ""
    last_error: str = ""
    last_error_at: datetime | None = None
    console_reachable: bool | None = None  # None: the console has not answered yet
    console_error: str = ""
    phase: str = Phase.STARTING
    cycle_running_since: float | None = None  # monotonic start of the running poll cycle
    last_poll_at: datetime | None = None  # the last cycle that held the lease and polled
    lease_seen_at: float | None = None  # monotonic time this process last held the poll lease


class Health:
    """Liveness and readiness state of one process.

    ``stale_after`` (a poll is stale) defaults to 3 poll intervals + 10 s; ``stuck_after``
    (a poll cycle or Slack work is stuck: liveness fails) to 10 poll intervals, at least
    :data:`STUCK_AFTER_SECONDS`.  ``monotonic`` times the stuck checks (never the wall
    clock, which tests move by hand).
    """

    def __init__(
        self,
        *,
        poll_seconds: float,
        clock: Callable[[], datetime],
        stale_after: float = 0.0,
        stuck_after: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.stale_after = timedelta(seconds=stale_after or 3 * poll_seconds + 10)
        self.stuck_after = stuck_after or max(STUCK_AFTER_SECONDS, 10 * poll_seconds)
        self._state = HealthState(started_at=clock())
        self._lasting_faults: dict[str, str] = {}
        self._reasons: dict[str, str] = {}

    def state(self) -> HealthState:
        with self._lock:
            return self._state

    # --- named reasons (any part of the bot) ------------------------------------------

    def set_reason(self, key: str, text: str) -> None:
        """Name a degraded condition under ``key`` (``/readyz`` lists it; still ready).

        ``text`` is shown to operators as is: no secrets.  Setting a key again replaces it.
        """
        with self._lock:
            self._reasons[key] = text

    def clear_reason(self, key: str) -> None:
        """The condition named ``key`` is over (nothing happens if it was not set)."""
        with self._lock:
            self._reasons.pop(key, None)

    def reasons(self) -> dict[str, str]:
        """The named reasons set now, by key."""
        with self._lock:
            return dict(self._reasons)

    # --- updates ---------------------------------------------------------------------

    def running(self) -> None:
        """The process has started: it takes Slack requests and polls."""
        self._update(phase=Phase.RUNNING)

    def stopping(self) -> None:
        """The process is shutting down: it takes no new Slack requests."""
        self._update(phase=Phase.STOPPING)

    def poll_lease_seen(self, held: bool) -> None:
        """A poll cycle ended: ``held`` when this process held the poll lease and polled."""
        if held:
            self._update(last_poll_at=self._clock(), lease_seen_at=self._monotonic())
        else:
            self._update(lease_seen_at=None)

    def holds_poll_lease(self) -> bool:
        """This process polled within the last lease time (it exports the shared gauges)."""
        seen = self.state().lease_seen_at
        return seen is not None and self._monotonic() - seen <= self.stale_after.total_seconds()

    def cycle_started(self) -> None:
        self._update(cycle_running_since=self._monotonic())

    def cycle_succeeded(self, at: datetime, seconds: float | None = None) -> None:
        self._update(
            last_cycle_at=at,
            last_cycle_ok=True,
            last_cycle_seconds=seconds,
            last_success_at=at,
            cycle_running_since=None,
        )

    def cycle_failed(self, at: datetime, error: str, seconds: float | None = None) -> None:
        self._update(
            last_cycle_at=at,
            last_cycle_ok=False,
            last_cycle_seconds=seconds,
            last_error=f"poll cycle: {error}",
            last_error_at=at,
            cycle_running_since=None,
        )

    def console_reachable(self, reachable: bool, detail: str = "") -> None:
        """Whether the console answered (the start-up check, every request); logged once per
        change, not per request (``/readyz`` lists it among its reasons meanwhile)."""
        with self._lock:
            before = self._state.console_reachable
            self._state = replace(
                self._state, console_reachable=reachable, console_error="" if reachable else detail
            )
        if not reachable and before is not False:
            log.warning("the console is unreachable (%s); scanbot keeps trying", detail)
        elif reachable and before is False:
            log.info("the console answers again")

    def request_done(
        self, endpoint: str, outcome: str, seconds: float, *, detail: str = ""
    ) -> None:
        """:class:`~bot.console.observer.ConsoleObserver`: remember auth state and errors."""
        now = self._clock()
        self.console_reachable(outcome not in UNREACHABLE, detail or outcome)
        if outcome in AUTH_FAILURES:
            self._update(
                console_auth_ok=False,
                console_auth_error=detail or outcome,
                last_error=f"console {endpoint}: {detail or outcome}",
                last_error_at=now,
            )
        elif outcome in UNREACHABLE:
            self._update(
                console_reachable=False,
                console_error=detail or outcome,
                last_error=f"console {endpoint}: {detail or outcome}",
                last_error_at=now,
            )
        elif outcome != "ok":
            self._update(
                console_reachable=True,
                last_error=f"console {endpoint}: {detail or outcome}",
                last_error_at=now,
            )
        elif endpoint == "_ping":  # _ping needs no credentials: it proves nothing about them
            self._update(console_reachable=True, console_error="")
        else:
            self._update(
                console_reachable=True,
                console_error="",
                console_auth_ok=True,
                console_auth_error="",
            )

    def lasting_fault(self, component: str, reason: str) -> None:
        """A fault of this process that holds until it restarts (the SQLite file deleted
        under it): ``/healthz`` answers 503 with ``reason`` under ``component`` from now on."""
        with self._lock:
            self._lasting_faults[component] = reason

    def lasting_faults(self) -> dict[str, str]:
        """The faults recorded by :meth:`lasting_fault`, by component (``/healthz``)."""
        with self._lock:
            return dict(self._lasting_faults)

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)  # type: ignore[arg-type]

    # --- liveness --------------------------------------------------------------------

    def liveness(
        self, *, scheduler_alive: bool, work_wedged_seconds: float = 0.0
    ) -> tuple[bool, dict[str, object]]:
        """(live, JSON report): this process can make progress.

        Not live when, once running, the scheduler's thread is gone, a poll cycle has run
        for more than ``stuck_after`` seconds, or Slack work has been wedged (every place
        taken, nothing finishing) that long, or a fault of this process that lasts until it
        restarts was recorded (:meth:`lasting_fault`).  Starting and stopping are live.
        Outside faults never count here (see :meth:`readiness`).
        """
        state = self.state()
        problems: dict[str, str] = {}
        running = state.phase == Phase.RUNNING
        if running and not scheduler_alive:
            problems["scheduler"] = "the scheduler's thread is not running"
        if state.cycle_running_since is not None:
            took = self._monotonic() - state.cycle_running_since
            if took > self.stuck_after:
                problems["poll"] = (
                    f"a poll cycle has been running for {took:.0f} s "
                    f"(more than {self.stuck_after:.0f} s)"
                )
        if work_wedged_seconds > self.stuck_after:
            problems["work"] = (
                f"no Slack work has finished for {work_wedged_seconds:.0f} s "
                "while every place for it is taken"
            )
        problems.update(self.lasting_faults())  # e.g. the SQLite file deleted under us
        report: dict[str, object] = {
            "status": "ok" if not problems else "unavailable",
            "phase": state.phase,
            "scheduler": "running" if scheduler_alive else "stopped",
        }
        if problems:
            report["problems"] = problems
        return not problems, report

    # --- readiness -------------------------------------------------------------------

    def readiness(
        self,
        *,
        database_ok: bool,
        now: datetime,
        slack_refused: str | None = None,
        work_full: bool = False,
        database_error: str = "",
    ) -> tuple[bool, dict[str, object]]:
        """(ready, JSON report): this replica can take Slack requests.

        Not ready (``status`` ``not ready``) while starting, stopping or when every place
        for Slack work is taken.  Otherwise ready; what is wrong outside — the database,
        the console (unreachable or refusing our credentials), Slack refusing the token,
        no recent successful poll, named reasons — makes it ``degraded``, listed by key
        under ``reasons``.
        """
        state = self.state()
        blocking: dict[str, str] = {}
        if state.phase != Phase.RUNNING:
            blocking["phase"] = f"the process is {state.phase}"
        if work_full:
            blocking["work"] = "every place for Slack work is taken"
        reasons: dict[str, str] = {}
        if not database_ok:
            reasons["database"] = database_error or "the database does not answer"
        if state.last_success_at is None:
            reasons["poll"] = "no poll cycle has succeeded yet"
        elif now - state.last_success_at > self.stale_after:
            age = (now - state.last_success_at).total_seconds()
            reasons["poll"] = (
                f"the last successful poll cycle was {age:.0f} s ago "
                f"(more than {self.stale_after.total_seconds():.0f} s)"
            )
        if state.console_auth_ok is False:
            reasons["console_auth"] = (
                f"the console refuses our credentials: {state.console_auth_error}"
            )
        if state.console_reachable is False:
            reasons["console"] = f"the console cannot be reached: {state.console_error}"
        if slack_refused is not None:
            reasons["slack"] = f"Slack refuses the bot token ({slack_refused})"
        reasons.update(self.reasons())
        status = "not ready" if blocking else "degraded" if reasons else "ready"
        report: dict[str, object] = {
            "status": status,
            "phase": state.phase,
            "database": "ok" if database_ok else "unreachable",
            "last_successful_cycle": _iso(state.last_success_at),
            "console": {None: "unknown", True: "ok", False: "unreachable"}[state.console_reachable],
            "console_auth": {None: "unknown", True: "ok", False: "refused"}[state.console_auth_ok],
            "slack": "ok" if slack_refused is None else "refused",
        }
        if blocking:
            report["blocking"] = blocking
        if reasons:
            report["reasons"] = reasons
        return not blocking, report


def observed_cycle(
    health: Health,
    cycle: Callable[[], T],
    *,
    clock: Callable[[], datetime],
    on_duration: Callable[[float, bool], None] | None = None,
) -> T:
    """Run one poll cycle and record how it ended (the runtime wraps every cycle in this).

    An exception is recorded and re-raised (the scheduler logs it); ``on_duration(seconds,
    ok)`` feeds the metrics.
    """
    started = time.perf_counter()
    health.cycle_started()
    try:
        result = cycle()
    except Exception as exc:
        seconds = time.perf_counter() - started
        health.cycle_failed(clock(), f"{type(exc).__name__}: {exc}", seconds)
        if on_duration is not None:
            on_duration(seconds, False)
        raise
    seconds = time.perf_counter() - started
    health.cycle_succeeded(clock(), seconds)
    if on_duration is not None:
        on_duration(seconds, True)
    return result


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
