"""Texts of ``scanbot --help``: the settings each command reads and its exit codes."""

from __future__ import annotations

import textwrap

from bot.config.settings import Settings, setting_name
from bot.ops.report import Status

#: Exit codes of every command except ``check`` (which exits with the Nagios codes of
#: :class:`bot.ops.report.Status`).
EXIT_OK = 0
EXIT_SCAN_FAILED = 1  # progress: the scan ended with an error
EXIT_USAGE = 2  # bad arguments or a bad image reference
EXIT_CONFIG = 3  # a setting is missing or invalid, or what it names refuses us
EXIT_UNAVAILABLE = 4  # run: a service scanbot needs (Slack) could not be reached; retry later

#: The settings each command reads; invalid values of other variables are ignored by it.
LOG_FIELDS = frozenset({"scanbot_log_level", "scanbot_log_format"})
CONSOLE_FIELDS = frozenset(name for name in Settings.model_fields if name.startswith("prisma_")) | {
    "scanbot_console_concurrency",
    "scanbot_poll_seconds",
}
COMMAND_FIELDS: dict[str, frozenset[str] | None] = {
    "run": None,  # everything
    "progress": LOG_FIELDS | CONSOLE_FIELDS,
    "check": LOG_FIELDS | CONSOLE_FIELDS | {"scanbot_database_url"},
    "sandbox-console": LOG_FIELDS,
    "demo": LOG_FIELDS,
}


def _names(fields: list[str]) -> str:
    return ", ".join(setting_name(field) for field in fields)


def run_epilog() -> str:
    fields = list(Settings.model_fields)
    groups = [
        ("Prisma console", [f for f in fields if f.startswith("prisma_")]),
        ("Slack", [f for f in fields if f.startswith("slack_")]),
        ("scanbot", [f for f in fields if f.startswith("scanbot_") or f == "port"]),
    ]
    lines = ["settings (environment variables; see README or scanbot.env.example):"]
    for title, group in groups:
        wrapped = textwrap.wrap(_names(group), width=74)
        lines.append(f"  {title}:")
        lines.extend(f"    {line}" for line in wrapped)
    lines += [
        "",
        "Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT (POST /slack/events,",
        "GET /healthz, /readyz, /metrics).  Slack (auth.test) and the console are checked",
        "before the database is opened; a console that cannot be reached yet is logged and",
        "/readyz names it.",
        "",
        "exit codes:",
        f"  {EXIT_OK}  clean shutdown (SIGTERM/SIGINT)",
        f"  {EXIT_CONFIG}  a setting is missing or invalid, or refused: the message names it",
        "     (PRISMA_USER/PRISMA_PASSWORD refused, PRISMA_CONSOLE_URL not a Compute console,",
        "     SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SCANBOT_DATABASE_URL, PORT in use, --env-file)",
        f"  {EXIT_UNAVAILABLE}  Slack could not be reached at SLACK_API_URL; try again later",
    ]
    return "\n".join(lines)


def progress_epilog() -> str:
    return "\n".join(
        [
            f"reads: {_names(sorted(COMMAND_FIELDS['progress'] or ()))}",
            "",
            "exit codes:",
            f"  {EXIT_OK}  the scan is complete, still running (without --watch), or none runs",
            f"  {EXIT_SCAN_FAILED}  the scan failed",
            f"  {EXIT_USAGE}  bad arguments or image reference",
            f"  {EXIT_CONFIG}  a setting is missing or invalid, or the console refused or could "
            "not be reached",
        ]
    )


def check_epilog() -> str:
    return "\n".join(
        [
            f"reads: {_names(sorted(COMMAND_FIELDS['check'] or ()))}",
            "",
            "Checks the console (reachable, latency, version), authentication, the regular",
            "scan, when the last regular scan completed, and (when SCANBOT_DATABASE_URL is set)",
            "the database: open watches and the last poll.  No Slack settings needed.",
            "",
            "exit codes (Nagios):",
            f"  {Status.OK:d}  OK",
            f"  {Status.WARNING:d}  WARNING: slow console, scan failed or stalled, no completion "
            "within",
            "     --max-age-hours, nobody polling open watches",
            f"  {Status.CRITICAL:d}  CRITICAL: console unreachable, credentials or role refused",
            f"  {Status.UNKNOWN:d}  UNKNOWN: configuration it cannot use (a missing or invalid "
            "setting)",
        ]
    )


def sandbox_console_epilog() -> str:
    return "\n".join(
        [
            f"reads: {_names(sorted(LOG_FIELDS))} (no console or Slack settings)",
            "",
            "exit codes:",
            f"  {EXIT_OK}  stopped by SIGTERM/SIGINT",
            f"  {EXIT_USAGE}  bad arguments or --seed image",
            f"  {EXIT_CONFIG}  --port out of range, or the port cannot be listened on (in use)",
        ]
    )


def demo_epilog() -> str:
    return "\n".join(
        [
            f"reads: {_names(sorted(LOG_FIELDS))} (logs are shown with --verbose); no Slack",
            "or Prisma settings: the bot runs against a simulated console and Slack.",
            "",
            "exit codes:",
            f"  {EXIT_OK}  every scan completed",
            "  1  a scan failed, or did not complete within --timeout",
            f"  {EXIT_USAGE}  bad arguments",
            "  130  interrupted (Ctrl-C)",
        ]
    )
