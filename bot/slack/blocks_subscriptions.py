"""Builders for subscription commands and for starting scans from Slack."""

from __future__ import annotations

import json

from bot.domain.images import ScanTarget
from bot.domain.regular import Subscription
from bot.slack.blocks_kit import (
    DASH,
    Block,
    actions,
    button,
    context,
    image_code,
    image_plain,
    message,
    plural,
    section,
)
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import channel_mention, code, slack_date, user_mention

#: ``action_id`` of the "Scan now" button; its ``value`` is the image as JSON fields.
SCAN_NOW_ACTION = "scan_now"
SUBSCRIPTIONS_SHOWN = 40


def scan_now_button(target: ScanTarget) -> Block:
    value = json.dumps(target.image_tag(), separators=(",", ":"), sort_keys=True)
    return actions(button("Scan now", action_id=SCAN_NOW_ACTION, value=value, style="primary"))


def scan_refused(user_id: str, channel_id: str) -> SlackMessage:
    """Ephemeral: this user may not start scans here, and which settings decide it."""
    text = (
        ":no_entry: *You may not start scans from Slack here.*\n"
        "Who may is set by `SCANBOT_SCAN_USERS` (Slack user ids) and `SCANBOT_SCAN_CHANNELS` "
        f"(channel ids). Ask whoever runs scanbot to add you ({user_mention(user_id)}) or "
        f"{channel_mention(channel_id)}. Following a scan started in the console still works: "
        "`/scanprogress &lt;image&gt;`."
    )
    fallback = (
        "You may not start scans from Slack here: SCANBOT_SCAN_USERS and "
        "SCANBOT_SCAN_CHANNELS decide who may"
    )
    return message(fallback, [section(text)])


def scan_requested_not_reported(target: ScanTarget) -> SlackMessage:
    """Ephemeral: the scan was requested but the console does not report it (yet)."""
    text = (
        f":information_source: The console accepted the scan of {image_code(target)} but "
        "does not report its progress yet. Run "
        f"{code('/scanprogress ' + target.display()[:200])} in a moment to follow it."
    )
    return message(f"Scan of {image_plain(target)} requested", [section(text)])


def subscribed(channel_id: str, *, already: bool) -> SlackMessage:
    channel = channel_mention(channel_id)
    if already:
        text = f"{channel} is already told about every regular registry scan."
    else:
        text = (
            f":bell: {channel} will be told about every regular registry scan: a message when "
            "one starts, its progress in the thread, and its end. "
            "`/scanprogress unsubscribe` stops it."
        )
    return message(text.removeprefix(":bell: "), [section(text)])


def unsubscribed(channel_id: str, *, removed: bool, from_setting: bool) -> SlackMessage:
    channel = channel_mention(channel_id)
    if not removed:
        text = f"{channel} was not subscribed to the regular registry scan."
    else:
        text = f":no_bell: {channel} is no longer told about regular registry scans."
    if from_setting:
        text += (
            f"\n{DASH} it is listed in `SCANBOT_NOTIFY_CHANNELS`, so it is subscribed again "
            "when scanbot restarts; remove it there too."
        )
    return message(text.split("\n")[0].removeprefix(":no_bell: "), [section(text)])


def subscription_list(subscriptions: list[Subscription], channel_id: str) -> SlackMessage:
    """The channels subscribed to the regular scan (``/scanprogress subscriptions``)."""
    if not subscriptions:
        text = "No channel is subscribed to the regular registry scan. `/scanprogress subscribe`"
        text += " subscribes this one."
        return message("No channel is subscribed to the regular registry scan", [section(text)])
    lines = []
    for sub in subscriptions[:SUBSCRIPTIONS_SHOWN]:
        how = (
            "by `SCANBOT_NOTIFY_CHANNELS`"
            if sub.source == "setting"
            else f"by {user_mention(sub.created_by)} on {slack_date(sub.created_at)}"
        )
        lines.append(f"\u2022 {channel_mention(sub.channel_id)} {DASH} subscribed {how}")
    if len(subscriptions) > SUBSCRIPTIONS_SHOWN:
        lines.append(f"{DASH} and {len(subscriptions) - SUBSCRIPTIONS_SHOWN} more")
    here = any(sub.channel_id == channel_id for sub in subscriptions)
    note = "This channel is subscribed." if here else "This channel is not subscribed."
    count = plural(len(subscriptions), "channel")
    blocks = [section(f"*Regular registry scan subscriptions ({count})*\n" + "\n".join(lines))]
    blocks.append(context(note))
    return message(f"{count} subscribed to the regular registry scan", blocks)
