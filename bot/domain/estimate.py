"""Rate and time left while images are scanned: "~12 min left at 4 images/min".

The first sample is taken when the image scan is first seen with its total known; an
estimate needs a later sample at least :data:`MIN_SECONDS` on with at least
:data:`MIN_IMAGES` more images scanned — never one sample alone.  Pure functions.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.events import Estimate
from bot.domain.follow_state import FollowState
from bot.domain.progress import Phase, ProgressSnapshot

MIN_SECONDS = 30.0
MIN_IMAGES = 2


def sample(follow: FollowState, snap: ProgressSnapshot, now: datetime) -> FollowState:
    """Take the first sample of the image scan, once."""
    if follow.rate_at is not None or snap.phase is not Phase.SCANNING:
        return follow
    if not snap.image_scan.started:
        return follow
    return replace(follow, rate_at=now, rate_scanned=snap.image_scan.scanned)


def estimate(follow: FollowState, snap: ProgressSnapshot, now: datetime) -> Estimate | None:
    """The rate since the first sample and the time left at that rate, when there is enough
    movement to tell; None otherwise."""
    if follow.rate_at is None or snap.phase is not Phase.SCANNING:
        return None
    seconds = (now - follow.rate_at).total_seconds()
    moved = snap.image_scan.scanned - follow.rate_scanned
    if seconds < MIN_SECONDS or moved < MIN_IMAGES:
        return None
    per_minute = moved * 60.0 / seconds
    left = max(0, snap.image_scan.total - snap.image_scan.scanned)
    return Estimate(per_minute=per_minute, remaining=timedelta(minutes=left / per_minute))


def estimate_text(value: Estimate) -> str:
    """``~12 min left at 4 images/min`` (``< 1 min`` near the end; rates below 1 in tenths)."""
    minutes = value.remaining.total_seconds() / 60
    left = "< 1 min" if minutes < 1 else f"~{round(minutes)} min"
    if minutes >= 120:
        left = f"~{minutes / 60:.1f} h"
    rate = f"{value.per_minute:.0f}" if value.per_minute >= 1 else f"{value.per_minute:.1f}"
    return f"{left} left at {rate} images/min"
