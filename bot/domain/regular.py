"""The regular registry scan as channels follow it: subscriptions and their runs.

A *run* is one subscribed channel's thread about one regular scan (one per scan and
channel); its thread key is ``regular:<run id>`` (see :func:`bot.domain.owed.regular_thread`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.follow_state import FollowState
from bot.domain.progress import ProgressSnapshot
from bot.domain.watch import WatchState


@dataclass(frozen=True, slots=True)
class Subscription:
    channel_id: str
    created_by: str
    source: str  # "command" or "setting"
    created_at: datetime


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
