"""Block Kit builders for refusals of the permission model: who may, and which setting decides."""

from __future__ import annotations

from bot.slack.blocks_kit import message, section
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import user_mention


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
