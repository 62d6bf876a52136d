"""Stall alerts: a followed scan whose counts have not moved for ``SCANBOT_STALL_MINUTES``.

Measured in time followed (per poll cycle), not by the wall clock, so a clock stepped
forward cannot fake a stall.  A stall is told once (reply key ``stalled:<n>``), with the
console's error text or the latest registry status error as the likely cause, and its end
once (``resumed:<n>``) when the counts move again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from enum import StrEnum

from bot.console.errors import ConsoleError
from bot.domain import owed
from bot.domain.events import Resumed, Stalled, Subject
from bot.domain.follow_state import FollowState
from bot.domain.owed import Owed
from bot.domain.progress import ProgressSnapshot
from bot.watcher.services import Services

log = logging.getLogger(__name__)


class Change(StrEnum):
    NONE = "none"
    STALLED = "stalled"
    RESUMED = "resumed"


def check(
    follow: FollowState, *, moved: bool, followed: float, after_seconds: float
) -> tuple[FollowState, Change]:
    """The new follow state and what changed, ``followed`` seconds into following."""
    if moved:
        state = replace(follow, moved_after=followed, stalled=False)
        return state, Change.RESUMED if follow.stalled else Change.NONE
    if not follow.stalled and followed - follow.moved_after >= after_seconds:
        return replace(follow, stalled=True, stalls=follow.stalls + 1), Change.STALLED
    return follow, Change.NONE


def likely_cause(services: Services, snap: ProgressSnapshot) -> str:
    """The console's error text, else the latest ``statuses/registry`` error, else ""."""
    if snap.error:
        return snap.error
    try:
        errors = services.console.registry_status().errors
    except ConsoleError as exc:
        log.info("no registry status for a stall's cause: %s", exc)
        return ""
    return errors[-1] if errors else ""


def replies(
    services: Services,
    change: Change,
    *,
    thread_key: str,
    channel_id: str,
    subject: Subject,
    snap: ProgressSnapshot,
    before: FollowState,
    after: FollowState,
    followed: float,
    mention: str = "",
) -> list[Owed]:
    """The reply a stall change owes (none for :attr:`Change.NONE`); ``mention`` is who a
    subscription pings for a stall."""
    stalled_for = timedelta(seconds=max(0.0, followed - before.moved_after))
    if change is Change.STALLED:
        cause = likely_cause(services, snap)
        log.warning("%s: stalled for %s (%s)", thread_key, stalled_for, cause or "no cause known")
        event = Stalled(subject, snap, stalled_for=stalled_for, cause=cause, mention=mention)
        return [owed.once(thread_key, channel_id, event, name=f"stalled:{after.stalls}")]
    if change is Change.RESUMED:
        event_resumed = Resumed(subject, snap, stalled_for=stalled_for)
        name = f"resumed:{before.stalls}"
        return [owed.once(thread_key, channel_id, event_resumed, name=name)]
    return []


def after_seconds(services: Services) -> float:
    return services.settings.scanbot_stall_minutes * 60.0
