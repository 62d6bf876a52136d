"""The watch: one Slack channel following one image's on-demand scan until it completes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.follow_state import FollowState
from bot.domain.images import ScanTarget
from bot.domain.progress import ProgressSnapshot


class WatchState(StrEnum):
    PENDING = "pending"  # created, parent message not yet posted
    ACTIVE = "active"  # parent posted, being polled
    COMPLETED = "completed"  # the scan completed; final reply posted
    STOPPED = "stopped"  # a user stopped it
    EXPIRED = "expired"  # ran past SCANBOT_MAX_WATCH_SECONDS
    FAILED = "failed"  # could not be posted (e.g. bot not in channel)

    @property
    def is_open(self) -> bool:
        return self in (WatchState.PENDING, WatchState.ACTIVE)


@dataclass(frozen=True, slots=True)
class Watch:
    id: int
    target: ScanTarget
    channel_id: str
    requester_id: str
    state: WatchState
    created_at: datetime  # timezone-aware UTC
    updated_at: datetime
    parent_ts: str | None = None  # ts of the parent message; replies go to its thread
    last_snapshot: ProgressSnapshot | None = None
    saw_running: bool = False  # the console reported the scan ongoing at least once
    last_thread_post_at: datetime | None = None  # last progress-only reply in the thread
    finished_at: datetime | None = None
    watched_seconds: float = 0.0  # time actually spent following (monotonic, per cycle)
    follow: FollowState = field(default_factory=FollowState)  # stalls, rate, baseline
    #: Completed before the console wrote this scan's result: looked for until then.
    result_wait_until: datetime | None = None
    result_checked_at: datetime | None = None  # the last GET /registry for that result
