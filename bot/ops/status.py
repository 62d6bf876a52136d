"""``/scanprogress status``: the checks of ``scanbot check`` plus what this bot process knows.

:func:`gather_status` runs :func:`bot.ops.check.run_checks` (the one checks function) and
appends findings about the bot itself: open watches (and subscriptions when the store has
them), the last poll cycle and its age, the last error.  The result is a
:class:`~bot.ops.report.CheckReport`, rendered for a terminal by ``CheckReport.lines()`` and
for Slack by :func:`bot.slack.blocks_status.status_message`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.ports import Console
from bot.domain.text import plural
from bot.ops.check import Thresholds, run_checks
from bot.ops.report import CheckReport, Finding, Status, ago
from bot.process.health import HealthState


def gather_status(
    console: Console,
    *,
    now: datetime,
    open_watches: int,
    subscriptions: int | None = None,
    health: HealthState | None = None,
    stale_after: timedelta = timedelta(minutes=5),
    thresholds: Thresholds | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> CheckReport:
    """The console checks, then the bot's own findings; never raises a ConsoleError."""
    checks = run_checks(
        console,
        now=lambda: now,
        last_completed=True,
        thresholds=thresholds or Thresholds(),
        timer=timer,
    )
    findings = [*checks.findings, _watches(open_watches, subscriptions)]
    if health is not None:
        findings.append(_poll(health, now, stale_after))
        if health.last_error:
            findings.append(_last_error(health, now))
    return CheckReport(findings=tuple(findings), perfdata=checks.perfdata)


def _watches(open_watches: int, subscriptions: int | None) -> Finding:
    phrase = plural(open_watches, "open watch", "open watches")
    data: dict[str, object] = {"open_watches": open_watches}
    if subscriptions is not None:
        phrase += f", {plural(subscriptions, 'subscription')}"
        data["subscriptions"] = subscriptions
    return Finding("watches", Status.OK, phrase, phrase, data)


def _poll(health: HealthState, now: datetime, stale_after: timedelta) -> Finding:
    if health.last_cycle_at is None:
        waited = now - health.started_at
        status = Status.WARNING if waited > stale_after else Status.OK
        return Finding(
            "poll", status, "no poll cycle yet", f"started {ago(waited.total_seconds())} ago"
        )
    age = (now - health.last_cycle_at).total_seconds()
    data: dict[str, object] = {"last_cycle_seconds_ago": round(age)}
    took = f"took {health.last_cycle_seconds:.1f} s" if health.last_cycle_seconds else ""
    if health.last_cycle_ok is False:
        phrase = f"last poll cycle failed {ago(age)} ago"
        return Finding("poll", Status.WARNING, phrase, health.last_error or phrase, data)
    phrase = f"last poll cycle {ago(age)} ago"
    if age > stale_after.total_seconds():
        return Finding("poll", Status.WARNING, phrase + " (stale)", took, data)
    return Finding("poll", Status.OK, phrase, took, data)


def _last_error(health: HealthState, now: datetime) -> Finding:
    when = ""
    if health.last_error_at is not None:
        when = f" {ago((now - health.last_error_at).total_seconds())} ago"
    return Finding("last_error", Status.OK, f"last error{when}", health.last_error)
