"""Block Kit builders for refusals of the permission model: who may, and which setting decides."""

from __future__ import annotations

from datetime import datetime

from bot.domain.text import plural
from bot.ops.report import CheckReport, Status
from bot.slack.blocks_kit import DOT, context, header, message, section
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import channel_mention, slack_date, user_mention

_WORDS = {
    Status.OK: ":white_check_mark: working",
    Status.WARNING: ":warning: working, with a problem an admin can see",
    Status.CRITICAL: ":red_circle: not working; an admin can see why",
    Status.UNKNOWN: ":grey_question: not known right now",
}
_ADMINS_SEE = (
    "Details (console version, latency, the last console error) are for admins "
    "(`SCANBOT_ADMIN_USERS`); whoever runs scanbot also sees them with `scanbot check`."
)


def stop_refused(starter_id: str) -> SlackMessage:
    """Ephemeral: this user may not stop this watch; who may."""
    text = (
        ":no_entry: *You may not stop this watch.*\n"
        f"It is stopped by whoever started it ({user_mention(starter_id)}), by an admin "
        "(`SCANBOT_ADMIN_USERS`), or by anyone in this channel once its starter has left "
        "the workspace."
    )
    fallback = (
        "You may not stop this watch: its starter, an admin (SCANBOT_ADMIN_USERS), or anyone "
        "once its starter has left the workspace may"
    )
    return message(fallback, [section(text)])


def subscriptions_full(limit: int) -> SlackMessage:
    """Ephemeral: the workspace has as many subscribed channels as the setting allows."""
    text = (
        f":no_entry: *No more channels can subscribe:* {limit} already are, the most "
        "`SCANBOT_MAX_SUBSCRIPTIONS` allows.\nUnsubscribe a channel that no longer needs "
        "the regular scan (`/scanprogress unsubscribe` there), or ask whoever runs scanbot "
        "to raise the limit."
    )
    fallback = f"No more channels can subscribe: SCANBOT_MAX_SUBSCRIPTIONS allows {limit}"
    return message(fallback, [section(text)])


def member_status(
    report: CheckReport,
    *,
    channel_id: str,
    channel_watches: int,
    subscribed: bool,
    now: datetime,
) -> SlackMessage:
    """``status`` for someone who is not an admin: whether scanning works, and this
    channel's own state; nothing about the console or other channels."""
    here = channel_mention(channel_id)
    regular = "is subscribed" if subscribed else "is not subscribed"
    blocks = [
        header("scanbot status"),
        section(f"*Scanning:* {_WORDS[report.status]}"),
        section(
            f"*This channel* ({here}) follows {plural(channel_watches, 'scan')} and "
            f"{regular} to the regular registry scan."
        ),
        context(f"Checked {slack_date(now)} {DOT} only you can see this {DOT} {_ADMINS_SEE}"),
    ]
    return message(f"scanbot status: {report.status.name}", blocks)


def channel_subscription(channel_id: str, *, subscribed: bool) -> SlackMessage:
    """``subscriptions`` for someone who is not an admin: this channel only."""
    here = channel_mention(channel_id)
    if subscribed:
        text = f"{here} is subscribed to the regular registry scan."
    else:
        text = (
            f"{here} is not subscribed to the regular registry scan. "
            "`/scanprogress subscribe` subscribes it."
        )
    note = "The list of every subscribed channel is for admins (`SCANBOT_ADMIN_USERS`)."
    fallback = f"This channel is {'' if subscribed else 'not '}subscribed to the regular scan"
    return message(fallback, [section(text), context(note)])
