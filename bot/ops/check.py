"""``scanbot check``: the on-call checks, for a terminal or a monitoring system.

Checks, in order (a later one is skipped when the console cannot be reached):

1. ``console``: ``GET /api/v1/_ping`` answers; its latency; the console's version.
2. ``auth``: the console accepts scanbot's credentials (and the ``monitorImages`` role).
3. ``regular_scan``: ``GET /registry/progress`` — idle, running, complete, failed; a scan
   running for longer than ``max_age_hours`` counts as stalled.
4. ``last_completed``: ``GET /statuses/registry`` — when the last regular scan completed and
   its errors (only with ``last_completed=True``).
5. ``database`` (optional): open watches and the poll lease (needs a :class:`DatabaseProbe`).

CRITICAL: unreachable console, refused credentials.  WARNING: slow console, a scan that failed
or reports errors, a stalled scan, no completion within ``max_age_hours``, a database that does
not answer or that no replica polls while watches are open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.console.errors import AuthenticationFailed, ConsoleError, PermissionDenied
from bot.domain.ports import Console
from bot.domain.progress import Phase, snapshot
from bot.domain.text import plural
from bot.ops.report import CheckReport, Finding, Status, ago


@dataclass(frozen=True, slots=True)
class DatabaseState:
    """What the database says about the bot: open watches and who polls."""

    open_watches: int
    poll_lease_owner: str | None = None
    poll_lease_renewed_at: datetime | None = None  # None: no replica holds the poll lease


class DatabaseUnreadable(Exception):  # noqa: N818 - reads as a state
    """The database could not be read; the message says why (no credentials in it)."""


class DatabaseProbe(Protocol):
    def read(self) -> DatabaseState:
        """The current state; raises :class:`DatabaseUnreadable`."""
        ...


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a check turns WARNING."""

    max_age_hours: float = 48.0  # last regular scan completion, and a scan's run time
    slow_ms: float = 2000.0  # console ping latency
    poll_stale_seconds: float = 300.0  # open watches but no poll lease renewed this recently


def run_checks(
    console: Console,
    *,
    now: Callable[[], datetime],
    last_completed: bool = False,
    database: DatabaseProbe | None = None,
    thresholds: Thresholds = Thresholds(),
    timer: Callable[[], float] = time.perf_counter,
) -> CheckReport:
    """Run every check and return the report; never raises :class:`ConsoleError`."""
    findings: list[Finding] = []
    perfdata: dict[str, float] = {}
    started = timer()
    reachable, auth_failed = _ping(console, findings)
    latency_ms = (timer() - started) * 1000
    if reachable:
        perfdata["latency_ms"] = round(latency_ms)
        findings[0] = _with_latency(findings[0], latency_ms, thresholds)
    if reachable and not auth_failed:
        version = _auth_and_version(console, findings)
        if version is not None:
            findings[0] = _with_version(findings[0], version)
            findings.append(_regular_scan(console, now(), thresholds))
            if last_completed:
                findings.append(_last_completed(console, now(), thresholds))
    if database is not None:
        findings.append(_database(database, now(), thresholds))
    return CheckReport(findings=tuple(findings), perfdata=perfdata)


def _ping(console: Console, findings: list[Finding]) -> tuple[bool, bool]:
    """(reachable, auth_failed) after ``GET /_ping``; appends the console finding."""
    try:
        console.ping()
    except AuthenticationFailed as exc:  # a console that wants credentials even for _ping
        findings.append(Finding("console", Status.OK, "console reachable"))
        findings.append(_auth_failure(exc))
        return True, True
    except ConsoleError as exc:
        findings.append(
            Finding(
                "console",
                Status.CRITICAL,
                "console unreachable",
                exc.told(),
                {"error": str(exc), "error_type": type(exc).__name__},
            )
        )
        return False, False
    findings.append(Finding("console", Status.OK, "console reachable"))
    return True, False


def _with_latency(finding: Finding, latency_ms: float, thresholds: Thresholds) -> Finding:
    slow = latency_ms > thresholds.slow_ms
    phrase = f"console reachable in {latency_ms:.0f} ms"
    return Finding(
        "console",
        Status.WARNING if slow else finding.status,
        phrase + (" (slow)" if slow else ""),
        f"{phrase}; WARNING above {thresholds.slow_ms:.0f} ms" if slow else phrase,
        {**finding.data, "latency_ms": round(latency_ms, 1)},
    )


def _with_version(finding: Finding, version: str) -> Finding:
    phrase = finding.phrase.replace("console ", f"console {version} ", 1)
    return Finding("console", finding.status, phrase, phrase, {**finding.data, "version": version})


def _auth_and_version(console: Console, findings: list[Finding]) -> str | None:
    """The console's version (an authenticated request), or None after a finding saying why."""
    try:
        version = console.version()
    except AuthenticationFailed as exc:
        findings.append(_auth_failure(exc))
        return None
    except ConsoleError as exc:
        findings.append(Finding("auth", Status.CRITICAL, "version request failed", exc.told()))
        return None
    findings.append(Finding("auth", Status.OK, "auth ok", "the console accepts the credentials"))
    return version


def _auth_failure(exc: AuthenticationFailed) -> Finding:
    what = "permission denied" if isinstance(exc, PermissionDenied) else "auth failed"
    return Finding(
        "auth",
        Status.CRITICAL,
        what,
        exc.told(),
        {"error": str(exc), "error_type": type(exc).__name__},
    )


def _regular_scan(console: Console, now: datetime, thresholds: Thresholds) -> Finding:
    try:
        entries = console.progress(None)
    except AuthenticationFailed as exc:  # e.g. the role lacks monitorImages
        return _auth_failure(exc)
    except ConsoleError as exc:
        return Finding("regular_scan", Status.WARNING, "regular scan unknown", exc.told())
    snap = snapshot(entries)
    data: dict[str, object] = {"phase": snap.phase.value, "summary": snap.summary}
    if snap.started_at is not None:
        data["started_at"] = snap.started_at.isoformat()
    if snap.phase is Phase.FAILED or snap.error:
        data["error"] = snap.error
        return Finding(
            "regular_scan",
            Status.WARNING,
            "regular scan failed" if snap.phase is Phase.FAILED else "regular scan has errors",
            f"{snap.summary}: {snap.error}" if snap.error else snap.summary,
            data,
        )
    if snap.phase.running:
        running = (now - snap.started_at).total_seconds() if snap.started_at else None
        if running is not None and running > thresholds.max_age_hours * 3600:
            return Finding(
                "regular_scan",
                Status.WARNING,
                f"regular scan stalled (running for {ago(running)})",
                f"{snap.summary}; started {snap.started_at:%Y-%m-%d %H:%M} UTC, more than "
                f"{thresholds.max_age_hours:g} h ago",
                data,
            )
        return Finding("regular_scan", Status.OK, "regular scan running", snap.summary, data)
    phrase = "regular scan idle" if snap.phase is Phase.IDLE else "regular scan complete"
    return Finding("regular_scan", Status.OK, phrase, snap.summary, data)


def _last_completed(console: Console, now: datetime, thresholds: Thresholds) -> Finding:
    try:
        status = console.registry_status()
    except ConsoleError as exc:
        return Finding("last_completed", Status.WARNING, "last completion unknown", exc.told())
    errors = [error for error in status.errors if error]
    data: dict[str, object] = {
        "scanning": status.scanning,
        "completed_at": status.completed_at.isoformat() if status.completed_at else None,
        "errors": errors,
    }
    if status.completed_at is None:
        return Finding(
            "last_completed",
            Status.WARNING,
            "no completed regular scan",
            "the console reports no completed regular scan; check Defend > Vulnerabilities > "
            "Images > Registry settings",
            data,
        )
    age = (now - status.completed_at).total_seconds()
    data["age_seconds"] = round(age)
    phrase = f"last completed {ago(age)} ago"
    if errors:
        return Finding(
            "last_completed",
            Status.WARNING,
            f"{phrase} with {len(errors)} error{'s' if len(errors) != 1 else ''}",
            "; ".join(errors[:5]),
            data,
        )
    if age > thresholds.max_age_hours * 3600:
        return Finding(
            "last_completed",
            Status.WARNING,
            f"{phrase} (over {thresholds.max_age_hours:g} h)",
            f"the last regular scan completed {status.completed_at:%Y-%m-%d %H:%M} UTC",
            data,
        )
    return Finding("last_completed", Status.OK, phrase, phrase, data)


def _database(database: DatabaseProbe, now: datetime, thresholds: Thresholds) -> Finding:
    try:
        state = database.read()
    except DatabaseUnreadable as exc:
        return Finding("database", Status.WARNING, "database unreadable", str(exc))
    data: dict[str, object] = {
        "open_watches": state.open_watches,
        "poll_lease_owner": state.poll_lease_owner,
    }
    phrase = plural(state.open_watches, "open watch", "open watches")
    if state.poll_lease_renewed_at is None:
        if state.open_watches:
            return Finding(
                "database",
                Status.WARNING,
                f"{phrase}, nobody polling",
                "watches are open but no scanbot holds the poll lease: is `scanbot run` up?",
                data,
            )
        return Finding("database", Status.OK, phrase, f"{phrase}; no poll lease held", data)
    age = (now - state.poll_lease_renewed_at).total_seconds()
    data["last_poll_seconds_ago"] = round(age)
    phrase = f"{phrase}, last poll {ago(age)} ago"
    if state.open_watches and age > thresholds.poll_stale_seconds:
        return Finding("database", Status.WARNING, phrase + " (stale)", phrase, data)
    return Finding("database", Status.OK, phrase, phrase, data)
