"""``scanbot check`` from the command line: build the probes from settings, print, exit."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import stamina

from bot.config.settings import Settings, SettingsError
from bot.domain.ports import utc_now
from bot.ops.check import DatabaseProbe, Thresholds, run_checks
from bot.ops.report import CheckReport, unknown


def print_report(report: CheckReport, *, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Print ``report`` (summary line first, or one JSON document); return its exit code."""
    if as_json:
        out.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        out.write("\n".join(report.lines()) + "\n")
    out.flush()
    return int(report.status)


def print_unknown(reason: str, *, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Exit 3 (UNKNOWN) for a configuration the check cannot use, saying why."""
    return print_report(unknown(reason), as_json=as_json, out=out)


def run_check_command(
    settings: Settings,
    *,
    thresholds: Thresholds,
    as_json: bool,
    database: bool = True,
    out: TextIO = sys.stdout,
) -> int:
    """Run every check the settings allow; print the report; return the Nagios exit code.

    The database is checked only when SCANBOT_DATABASE_URL was set explicitly (the default
    SQLite file is per working directory and would say nothing about the bot).
    """
    from bot.console.client import ConsoleClient  # noqa: PLC0415 - httpx is heavy

    try:
        settings.require_console()
    except SettingsError as exc:
        return print_unknown(str(exc), as_json=as_json, out=out)
    probe: DatabaseProbe | None = None
    if database and "scanbot_database_url" in settings.model_fields_set:
        from bot.ops.database import StoreProbe  # noqa: PLC0415

        probe = StoreProbe(
            settings.scanbot_database_url, poll_seconds=settings.scanbot_poll_seconds
        )
    was_active = stamina.is_active()
    stamina.set_active(False)  # a monitor's check answers at once rather than retrying
    try:
        with ConsoleClient(settings) as client:
            report = run_checks(
                client, now=utc_now, last_completed=True, database=probe, thresholds=thresholds
            )
    finally:
        stamina.set_active(was_active)
    return print_report(report, as_json=as_json, out=out)
