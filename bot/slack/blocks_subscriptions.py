"""Builders for subscription commands and for starting scans from Slack."""

from __future__ import annotations

import json
from datetime import datetime

from bot.domain.images import ScanTarget
from bot.domain.regular import Level, Subscription
from bot.domain.text import plural
from bot.slack.blocks_kit import (
    DASH,
    Block,
    actions,
    button,
    context,
    image_code,
    image_plain,
    message,
    section,
)
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import (
    alert_mention,
    channel_mention,
    code,
    slack_date,
    user_mention,
)

#: ``action_id`` of the snooze buttons; their ``value`` is the channel id.
SNOOZE_HOUR_ACTION = "snooze_subscription_hour"
SNOOZE_DAY_ACTION = "snooze_subscription_day"
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
        "SCANBOT_SCAN_CHANNELS decide who may, besides admins (SCANBOT_ADMIN_USERS)"
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


LEVEL_MEANS = {
    Level.QUIET: "only the end of each scan, stalls and errors",
    Level.NORMAL: "a message when a scan starts, its progress in the thread, and its end",
    Level.VERBOSE: "a message when a scan starts, every change of its counts in the thread, "
    "and its end",
}
#: What a subscription's mention is pinged for (and only for).
PINGED_FOR = (
    "a failed scan, a stall, registry errors, or no completed scan for "
    "`SCANBOT_REGULAR_MAX_AGE_HOURS`"
)


def subscribed(
    channel_id: str, *, already: bool, level: Level = Level.NORMAL, mention: str = ""
) -> SlackMessage:
    """The answer to ``subscribe``: the channel's level and who is pinged, as they are now."""
    channel = channel_mention(channel_id)
    lead = (
        f":bell: {channel} is subscribed to the regular registry scan"
        if already
        else f":bell: {channel} will be told about every regular registry scan"
    )
    text = f"{lead} at level *{level.value}*: {LEVEL_MEANS[level]}."
    who = alert_mention(mention)
    text += (
        f"\n{who} is pinged for {PINGED_FOR}; never for progress or success."
        if who
        else "\nNobody is pinged; add `mention=@someone` to ping on-call when action is needed."
    )
    text += "\n`/scanprogress unsubscribe` stops it; subscribing again changes the level."
    return message(text.split("\n")[0].removeprefix(":bell: "), [section(text)])


def subscription_refused(user_id: str, *, from_setting: bool, admins_set: bool) -> SlackMessage:
    """Ephemeral: this user may not change this channel's subscription, and who may."""
    if from_setting:
        why = (
            "This channel is subscribed by `SCANBOT_NOTIFY_CHANNELS`, so only the admins "
            "listed in `SCANBOT_ADMIN_USERS` may change it"
            + ("." if admins_set else " (none are listed: change the setting itself).")
        )
    else:
        why = (
            "Only the admins listed in `SCANBOT_ADMIN_USERS` may subscribe, unsubscribe, "
            "change a level or snooze."
        )
    text = (
        f":no_entry: *{user_mention(user_id)}, you may not change this channel's "
        f"subscription.*\n{why} Ask whoever runs scanbot."
    )
    return message(
        "You may not change subscriptions: SCANBOT_ADMIN_USERS decides who may", [section(text)]
    )


def not_subscribed(channel_id: str, what: str) -> SlackMessage:
    """Ephemeral: ``what`` (snooze, unsnooze) needs a subscribed channel."""
    text = (
        f":warning: *{channel_mention(channel_id)} is not subscribed to the regular registry "
        f"scan*, so there is nothing to {what}.\n`/scanprogress subscribe` subscribes it."
    )
    return message("This channel is not subscribed: nothing to " + what, [section(text)])


def snoozed(channel_id: str, *, until: datetime, by_user: str) -> SlackMessage:
    """Told in the channel: its stall and error alerts are snoozed until ``until``."""
    text = (
        f":zzz: {user_mention(by_user)} snoozed the regular scan's alerts in "
        f"{channel_mention(channel_id)} until {slack_date(until)}: no mentions and no stall "
        "or error replies until then; the end of a scan is still told. "
        "`/scanprogress unsnooze` ends it now."
    )
    return message(f"Regular scan alerts snoozed until {until:%Y-%m-%d %H:%M} UTC", [section(text)])


def unsnoozed(channel_id: str, *, was_snoozed: bool) -> SlackMessage:
    channel = channel_mention(channel_id)
    text = (
        f":bell: The snooze in {channel} is over: stalls and errors are told again."
        if was_snoozed
        else f"{channel} was not snoozed."
    )
    return message(text.removeprefix(":bell: "), [section(text)])


def snooze_buttons(channel_id: str) -> Block:
    """**Snooze 1 h** / **Snooze 1 day** on a subscription's stall and failure messages."""
    return actions(
        *(
            button(label, action_id=action, value=channel_id)
            for label, action in (
                ("Snooze 1 h", SNOOZE_HOUR_ACTION),
                ("Snooze 1 day", SNOOZE_DAY_ACTION),
            )
        )
    )


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


def subscription_list(
    subscriptions: list[Subscription], channel_id: str, *, now: datetime
) -> SlackMessage:
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
        line = f"\u2022 {channel_mention(sub.channel_id)} {DASH} *{sub.level.value}*"
        who = alert_mention(sub.mention)
        line += f", pings {who}" if who else ", pings nobody"
        if sub.snoozed(now):
            assert sub.snoozed_until is not None
            line += f", :zzz: snoozed until {slack_date(sub.snoozed_until)}"
        lines.append(f"{line} {DASH} subscribed {how}")
    if len(subscriptions) > SUBSCRIPTIONS_SHOWN:
        lines.append(f"{DASH} and {len(subscriptions) - SUBSCRIPTIONS_SHOWN} more")
    here = any(sub.channel_id == channel_id for sub in subscriptions)
    note = "This channel is subscribed." if here else "This channel is not subscribed."
    count = plural(len(subscriptions), "channel")
    blocks = [section(f"*Regular registry scan subscriptions ({count})*\n" + "\n".join(lines))]
    blocks.append(context(note))
    return message(f"{count} subscribed to the regular registry scan", blocks)
