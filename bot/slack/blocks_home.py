"""The App Home tab (``views.publish``): what the user follows, what runs in their channels,
the regular scan, the subscriptions and their levels, and the health of ``status``.  Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.regular import Subscription
from bot.domain.watch import Watch
from bot.ops.report import CheckReport, Finding
from bot.slack.blocks_kit import DASH, DOT, Block, context, divider, header, image_code, section
from bot.slack.blocks_status import finding_line
from bot.slack.blocks_subscriptions import LEVEL_MEANS
from bot.slack.mrkdwn import (
    alert_mention,
    channel_mention,
    escape_truncated,
    slack_date,
    user_mention,
)

#: Entries shown per list (a Home view holds at most 100 blocks; each list is one section).
HOME_LIST_MAX = 15
#: The findings shown as "the regular scan" rather than in the health summary.
_REGULAR_FINDINGS = ("regular_scan", "last_completed")


@dataclass(frozen=True, slots=True)
class HomeData:
    """What the Home tab shows one user, gathered by the listener."""

    user_id: str
    now: datetime
    followed: list[Watch] = field(default_factory=list)  # open watches the user started
    in_channels: list[Watch] = field(default_factory=list)  # others' in the user's channels
    subscriptions: list[Subscription] = field(default_factory=list)
    health: CheckReport | None = None  # None: this scanbot cannot check the console


def home_view(data: HomeData) -> dict[str, Any]:
    """The Home tab as a ``views.publish`` view."""
    blocks: list[Block] = [
        header("scanbot"),
        context(
            f"Hello {user_mention(data.user_id)} {DOT} updated {slack_date(data.now)} "
            f"{DOT} `/scanprogress help` lists every command"
        ),
        section("*Scans you follow*\n" + _watches(data.followed, data.now, mine=True)),
        section(
            "*Also running in your channels*\n" + _watches(data.in_channels, data.now, mine=False)
        ),
        divider(),
        section("*Regular registry scan*\n" + _findings(data.health, regular=True)),
        section("*Subscriptions*\n" + _subscriptions(data.subscriptions, data.now)),
        divider(),
        section("*Health* (as `/scanprogress status`)\n" + _findings(data.health, regular=False)),
    ]
    return {"type": "home", "blocks": blocks}


def _watches(watches: list[Watch], now: datetime, *, mine: bool) -> str:
    if not watches:
        return (
            "None. Follow one with `/scanprogress &lt;image&gt;` in a channel."
            if mine
            else "Nothing else is followed in the channels you follow scans in."
        )
    lines = []
    for watch in watches[:HOME_LIST_MAX]:
        progress = (
            escape_truncated(watch.last_snapshot.summary, 150)
            if watch.last_snapshot is not None
            else "waiting for the console"
        )
        who = "" if mine else f" {DOT} by {user_mention(watch.requester_id)}"
        lines.append(
            f"\u2022 {image_code(watch.target)} in {channel_mention(watch.channel_id)} {DASH} "
            f"{progress}{who} {DOT} since {slack_date(watch.created_at)}"
        )
    if len(watches) > HOME_LIST_MAX:
        lines.append(f"{DASH} and {len(watches) - HOME_LIST_MAX} more")
    return "\n".join(lines)


def _subscriptions(subscriptions: list[Subscription], now: datetime) -> str:
    if not subscriptions:
        return "No channel is subscribed. `/scanprogress subscribe` in a channel subscribes it."
    lines = []
    for sub in subscriptions[:HOME_LIST_MAX]:
        who = alert_mention(sub.mention)
        line = (
            f"\u2022 {channel_mention(sub.channel_id)} {DASH} *{sub.level.value}* "
            f"({LEVEL_MEANS[sub.level]})" + (f", pings {who}" if who else "")
        )
        if sub.snoozed(now) and sub.snoozed_until is not None:
            line += f", :zzz: snoozed until {slack_date(sub.snoozed_until)}"
        lines.append(line)
    if len(subscriptions) > HOME_LIST_MAX:
        lines.append(f"{DASH} and {len(subscriptions) - HOME_LIST_MAX} more")
    return "\n".join(lines)


def _findings(report: CheckReport | None, *, regular: bool) -> str:
    if report is None:
        return "This scanbot cannot check the console; run `scanbot check` on its host."
    chosen: list[Finding] = [
        finding for finding in report.findings if (finding.name in _REGULAR_FINDINGS) == regular
    ]
    if not chosen:
        return "Nothing to report."
    return "\n".join(finding_line(finding) for finding in chosen)
