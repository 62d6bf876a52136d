"""What the watcher remembers about a followed scan besides its last snapshot.

One small value per watch and per regular-scan run, stored as JSON (``follow_state``
columns, see :mod:`bot.store.codec`): when the counts last moved and whether a stall was
told (stall alerts; measured in time followed, so a wall clock that jumps
cannot fake a stall), the first sample of the image scan (rate and estimate), the image's
result when following started (the diff), and the errors already told in the thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.console_types import ScanResult


@dataclass(frozen=True, slots=True)
class FollowState:
    moved_after: float = 0.0  # seconds followed when the counts last moved
    followed: float = 0.0  # seconds followed (regular runs; a watch has its own column)
    stalled: bool = False  # a "stalled" reply was owed and the counts have not moved since
    stalls: int = 0  # how many stalls were told (keys each stall's replies once)
    rate_at: datetime | None = None  # first sample of the image scan: when ...
    rate_scanned: int = 0  # ... and how many images were scanned then
    baseline: ScanResult | None = None  # the image's result when following started
    errors_seen: tuple[str, ...] = ()  # errors already told in the thread
    status_checked_at: datetime | None = None  # last GET /statuses/registry (regular scans)
