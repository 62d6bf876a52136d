"""The regular registry scan as channels follow it: subscriptions and their runs.

A *run* is one subscribed channel's thread about one regular scan (one per scan and
channel); its thread key is ``regular:<run id>`` (see :func:`bot.domain.owed.regular_thread`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.follow_state import FollowState
from bot.domain.progress import ProgressSnapshot
from bot.domain.watch import WatchState


class Level(StrEnum):
    """How much a subscribed channel hears about the regular scan."""

    QUIET = "quiet"  # only the end (complete or failed), stalls and errors
    NORMAL = "normal"  # the parent, phase changes and paced progress in the thread, the end
    VERBOSE = "verbose"  # every change of the counts in the thread (still paced)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel told about every regular registry scan.

    ``mention`` (Slack markup: ``<@U…>`` or ``<!subteam^S…>``, "" for nobody) is pinged
    only when someone must act: a failure, a stall, registry errors, the dead-man's switch.
    While ``snoozed_until`` lies ahead the channel gets no mentions and no stall or error
    replies; the end of a scan is still told.
    """

    channel_id: str
    created_by: str
    source: str  # "command" or "setting"
    created_at: datetime
    level: Level = Level.NORMAL
    mention: str = ""
    snoozed_until: datetime | None = None
    snoozed_by: str = ""

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and now < self.snoozed_until

    def alert_mention(self, now: datetime) -> str:
        """Who to ping for an alert now: nobody while snoozed."""
        return "" if self.snoozed(now) else self.mention


@dataclass(frozen=True, slots=True)
class RegularRun:
    id: int
    scan_key: str
    channel_id: str
    state: WatchState
    created_at: datetime
    last_snapshot: ProgressSnapshot | None = None
    last_thread_post_at: datetime | None = None
    follow: FollowState = field(default_factory=FollowState)
