"""``/scanprogress status`` as Block Kit (pure): one line per check, worst status first line."""

from __future__ import annotations

from datetime import datetime

from bot.ops.report import CheckReport, Finding, Status
from bot.slack.blocks_kit import DOT, SHOWN_ERROR_CHARS, context, header, message, section
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import escape_truncated, slack_date

_ICONS = {
    Status.OK: ":white_check_mark:",
    Status.WARNING: ":warning:",
    Status.CRITICAL: ":red_circle:",
    Status.UNKNOWN: ":grey_question:",
}
_TITLES = {
    "console": "Console",
    "auth": "Authentication",
    "regular_scan": "Regular scan",
    "last_completed": "Last regular scan",
    "database": "Database",
    "watches": "Watching",
    "poll": "Polling",
    "last_error": "Last error",
}


def status_message(report: CheckReport, *, now: datetime) -> SlackMessage:
    """The report of :func:`bot.ops.status.gather_status` for the one who asked."""
    overall = report.status
    lines = [finding_line(finding) for finding in report.findings]
    blocks = [
        header("scanbot status"),
        section(f"*Overall:* {_ICONS[overall]} {overall.name}"),
        section("\n".join(lines)),
        context(f"Checked {slack_date(now)} {DOT} only you can see this"),
    ]
    text = f"scanbot status: {overall.name}"
    return message(text, blocks)


def finding_line(finding: Finding) -> str:
    """One check as a line: icon, title, what it found."""
    title = _TITLES.get(finding.name, finding.name.replace("_", " ").capitalize())
    body = finding.phrase
    if finding.detail and finding.detail != finding.phrase:
        body = f"{finding.phrase} {DOT} {finding.detail}"
    # The last error is history, not a check that passed: no green tick beside it.
    icon = ":information_source:" if finding.name == "last_error" else _ICONS[finding.status]
    return f"{icon} *{title}:* {escape_truncated(body, SHOWN_ERROR_CHARS // 2)}"
