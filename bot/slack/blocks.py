"""Pure Block Kit builders: every message scanbot sends, as :class:`SlackMessage` values.

No I/O and no Slack client here; listeners and the poster send what these return.  Every
piece of user- or console-sourced text is escaped (:mod:`bot.slack.mrkdwn`) and every
message stays within Slack's limits (section text 3000, header 150, 50 blocks) with a
non-empty fallback ``text``.  The builders live in :mod:`bot.slack.blocks_watch` (a
watch's messages) and :mod:`bot.slack.blocks_commands` (command replies); import them
from here.
"""

from __future__ import annotations

from bot.slack.blocks_commands import (
    already_watching,
    busy_message,
    dropped_at_restart,
    error_message,
    follow_ack,
    following,
    help_text,
    no_scan_in_progress,
    not_in_channel,
    regular_scan,
    scan_just_finished,
    storage_unavailable,
)
from bot.slack.blocks_follow import (
    parent_message,
    registry_errors,
    regular_complete,
    regular_parent,
    resumed,
    stalled,
    thread_message,
)
from bot.slack.blocks_subscriptions import (
    SCAN_NOW_ACTION,
    scan_refused,
    scan_requested_not_reported,
    subscribed,
    subscription_list,
    unsubscribed,
)
from bot.slack.blocks_watch import (
    STOP_WATCH_ACTION,
    WATCH_LIST_MAX,
    scan_complete,
    thread_update,
    watch_expired,
    watch_list,
    watch_parent,
    watch_stopped,
)

__all__ = [
    "SCAN_NOW_ACTION",
    "STOP_WATCH_ACTION",
    "WATCH_LIST_MAX",
    "already_watching",
    "busy_message",
    "dropped_at_restart",
    "error_message",
    "follow_ack",
    "following",
    "help_text",
    "no_scan_in_progress",
    "not_in_channel",
    "parent_message",
    "registry_errors",
    "regular_complete",
    "regular_parent",
    "regular_scan",
    "resumed",
    "scan_complete",
    "scan_just_finished",
    "scan_refused",
    "scan_requested_not_reported",
    "stalled",
    "storage_unavailable",
    "subscribed",
    "subscription_list",
    "thread_message",
    "thread_update",
    "unsubscribed",
    "watch_expired",
    "watch_list",
    "watch_parent",
    "watch_stopped",
]
