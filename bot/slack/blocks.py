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
    interrupted_at_restart,
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
from bot.slack.blocks_permissions import (
    channel_subscription,
    member_status,
    stop_refused,
    subscriptions_full,
)
from bot.slack.blocks_result import result_arrived, result_missing
from bot.slack.blocks_subscriptions import (
    SCAN_NOW_ACTION,
    SNOOZE_DAY_ACTION,
    SNOOZE_HOUR_ACTION,
    not_subscribed,
    scan_refused,
    scan_requested_not_reported,
    snoozed,
    subscribed,
    subscription_list,
    subscription_refused,
    unsnoozed,
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
    "SNOOZE_DAY_ACTION",
    "SNOOZE_HOUR_ACTION",
    "STOP_WATCH_ACTION",
    "WATCH_LIST_MAX",
    "already_watching",
    "busy_message",
    "channel_subscription",
    "dropped_at_restart",
    "error_message",
    "follow_ack",
    "following",
    "help_text",
    "interrupted_at_restart",
    "member_status",
    "no_scan_in_progress",
    "not_in_channel",
    "not_subscribed",
    "parent_message",
    "registry_errors",
    "regular_complete",
    "regular_parent",
    "regular_scan",
    "result_arrived",
    "result_missing",
    "resumed",
    "scan_complete",
    "scan_just_finished",
    "scan_refused",
    "scan_requested_not_reported",
    "snoozed",
    "stalled",
    "stop_refused",
    "storage_unavailable",
    "subscribed",
    "subscription_list",
    "subscription_refused",
    "subscriptions_full",
    "thread_message",
    "thread_update",
    "unsnoozed",
    "unsubscribed",
    "watch_expired",
    "watch_list",
    "watch_parent",
    "watch_stopped",
]
