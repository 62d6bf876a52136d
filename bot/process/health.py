"""What this process knows about its own health: poll cycles, console answers, last error.

:class:`Health` is built by the runtime and updated by the poll cycle's wrapper
(:func:`observed_cycle`) and by the console client (it is a
:class:`~bot.console.observer.ConsoleObserver`).  ``/readyz`` asks :meth:`Health.readiness`;
``/scanprogress status`` shows :meth:`Health.state`.  Thread-safe; no I/O but logging.

Degraded conditions the replica lives with (the console unreachable) are named by a key
with :meth:`Health.set_reason` and :meth:`Health.clear_reason`; ``/readyz`` lists them in
its ``reasons``.  Whether the console answers is logged once per change, not per request.
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

#: The console outcome that means "the console could not be reached".
UNREACHABLE = "console_unavailable"
#: The key of the "console unreachable" reason.
CONSOLE_REASON = "console"

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


class Health:
    """Readiness state of one process.  ``stale_after`` defaults to 3 poll intervals + 10 s."""

    def __init__(
        self, *, poll_seconds: float, clock: Callable[[], datetime], stale_after: float = 0.0
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.stale_after = timedelta(seconds=stale_after or 3 * poll_seconds + 10)
        self._state = HealthState(started_at=clock())
        self._lasting_faults: dict[str, str] = {}
        self._reasons: dict[str, str] = {}
        self._console_reachable: bool | None = None

    def state(self) -> HealthState:
        with self._lock:
            return self._state

    # --- degraded conditions ------------------------------------------------------------

    def set_reason(self, key: str, text: str) -> None:
        """Name a degraded condition (``/readyz`` lists ``text`` among its reasons)."""
        with self._lock:
            self._reasons[key] = text

    def clear_reason(self, key: str) -> None:
        with self._lock:
            self._reasons.pop(key, None)

    def reasons(self) -> list[str]:
        """The degraded conditions now, in the order they were first named."""
        with self._lock:
            return list(self._reasons.values())

    def console_reachable(self, reachable: bool, detail: str = "") -> None:
        """Whether the console answered; logged and put among the reasons when it changes."""
        with self._lock:
            before = self._console_reachable
            self._console_reachable = reachable
            if reachable:
                self._reasons.pop(CONSOLE_REASON, None)
            else:
                self._reasons[CONSOLE_REASON] = f"console unreachable: {detail}".rstrip(": ")
        if not reachable and before is not False:
            log.warning("the console is unreachable (%s); scanbot keeps trying", detail)
        elif reachable and before is False:
            log.info("the console answers again")

    # --- updates ---------------------------------------------------------------------

    def cycle_succeeded(self, at: datetime, seconds: float | None = None) -> None:
        self._update(
            last_cycle_at=at, last_cycle_ok=True, last_cycle_seconds=seconds, last_success_at=at
        )

    def cycle_failed(self, at: datetime, error: str, seconds: float | None = None) -> None:
        self._update(
            last_cycle_at=at,
            last_cycle_ok=False,
            last_cycle_seconds=seconds,
            last_error=f"poll cycle: {error}",
            last_error_at=at,
        )

    def request_done(
        self, endpoint: str, outcome: str, seconds: float, *, detail: str = ""
    ) -> None:
        """:class:`~bot.console.observer.ConsoleObserver`: remember auth state and errors."""
        now = self._clock()
        self.console_reachable(outcome != UNREACHABLE, detail or outcome)
        if outcome in AUTH_FAILURES:
            self._update(
                console_auth_ok=False,
                console_auth_error=detail or outcome,
                last_error=f"console {endpoint}: {detail or outcome}",
                last_error_at=now,
            )
        elif outcome != "ok":
            self._update(last_error=f"console {endpoint}: {detail or outcome}", last_error_at=now)
        elif endpoint != "_ping":  # _ping needs no credentials: it proves nothing about them
            self._update(console_auth_ok=True, console_auth_error="")

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

    # --- readiness -------------------------------------------------------------------

    def readiness(self, *, database_ok: bool, now: datetime) -> tuple[bool, dict[str, object]]:
        """(ready, JSON report): database answers, a recent successful cycle, credentials ok."""
        state = self.state()
        reasons: list[str] = []
        if not database_ok:
            reasons.append("the database does not answer")
        if state.last_success_at is None:
            reasons.append("no poll cycle has succeeded yet")
        elif now - state.last_success_at > self.stale_after:
            age = (now - state.last_success_at).total_seconds()
            reasons.append(
                f"the last successful poll cycle was {age:.0f} s ago "
                f"(more than {self.stale_after.total_seconds():.0f} s)"
            )
        if state.console_auth_ok is False:
            reasons.append(f"the console refuses our credentials: {state.console_auth_error}")
        ready = not reasons
        reasons += self.reasons()  # degraded, yet able to take Slack requests
        report: dict[str, object] = {
            "status": "ready" if ready else "not ready",
            "database": "ok" if database_ok else "unreachable",
            "last_successful_cycle": _iso(state.last_success_at),
            "console_auth": {None: "unknown", True: "ok", False: "refused"}[state.console_auth_ok],
        }
        if reasons:
            report["reasons"] = reasons
        return ready, report


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
