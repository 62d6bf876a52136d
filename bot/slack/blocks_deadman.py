"""Builders for the dead-man's switch: no regular scan has completed for too long, and the
recovery.  Each is a message of its own in a subscribed channel."""

from __future__ import annotations

from bot.domain.events import ParentView, RegularOverdue
from bot.slack.blocks_kit import ARROW, DASH, context, human_duration, message, section
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import alert_mention, slack_date


def regular_overdue(view: ParentView) -> SlackMessage:
    """The outage (pinging the subscription's mention) or its end (pinging nobody)."""
    overdue = view.subject
    if not isinstance(overdue, RegularOverdue):
        raise TypeError("regular_overdue shows the dead-man's switch")
    limit = human_duration(overdue.max_age)
    last = slack_date(overdue.last_completed)
    if overdue.recovered_at is not None:
        text = (
            f":white_check_mark: *Regular registry scans complete again* {DASH} one completed "
            f"{slack_date(overdue.recovered_at)}; before it, the last completed {last}."
        )
        return message("Regular registry scans complete again", [section(text)])
    who = alert_mention(overdue.mention)
    text = (
        f":rotating_light: *No regular registry scan has completed for over {limit}* "
        f"{DASH} the last completed {last}."
        + (f"\n{who}, please check the console." if who else "")
    )
    hint = (
        "Check the console's registry scan settings and Defenders (Defend "
        f"{ARROW} Vulnerabilities {ARROW} Images {ARROW} Registry settings); "
        "`/scanprogress status` shows what scanbot sees. "
        "This is said once per outage, and once more when a scan completes again "
        "(`SCANBOT_REGULAR_MAX_AGE_HOURS`)."
    )
    return message(
        f"No regular registry scan has completed for over {limit}", [section(text), context(hint)]
    )
