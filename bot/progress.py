"""The progress model: what one progress answer means to a person.

From the entries of one ``GET /registry/progress`` answer, :func:`snapshot` derives the
phase, counts and percentages per step, the console's error, a one-line summary, and
:meth:`ProgressSnapshot.material` — the part whose change is worth telling a user about.
Snapshots round-trip through JSON (:meth:`to_dict` / :meth:`from_dict`) so the store can
keep the last one seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.console.models import ProgressEntry


class Phase(StrEnum):
    DISCOVERING = "discovering"  # step 1/2: discovering tags/repositories
    SCANNING = "scanning"  # step 2/2: scanning images
    COMPLETE = "complete"  # the console reported isScanOngoing: false for the scan
    IDLE = "idle"  # no scan in progress ([] from the console)
    FAILED = "failed"  # the scan ended with an error


@dataclass(frozen=True, slots=True)
class StepView:
    """Counts of one step, clamped to sane values (0 <= scanned <= total)."""

    total: int = 0
    scanned: int = 0
    title: str = ""
    error: str = ""

    @property
    def percent(self) -> int:
        """0..100, rounded down; 0 when the total is unknown (0)."""
        raise NotImplementedError

    @property
    def done(self) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    phase: Phase
    discovery: StepView = field(default_factory=StepView)
    image_scan: StepView = field(default_factory=StepView)
    error: str = ""  # the console's error text (either step), "" when none
    started_at: datetime | None = None  # specScanStartTime when the console gave one
    entries: int = 0  # how many progress entries were aggregated

    @property
    def summary(self) -> str:
        """One line for a person, e.g. ``Scanning images: 3/10 (30%)``.  Plain text, unescaped."""
        raise NotImplementedError

    def material(self) -> tuple[object, ...]:
        """What a user cares about: phase, counts per step, error.  Titles are excluded."""
        raise NotImplementedError

    def changed_from(self, previous: ProgressSnapshot | None) -> bool:
        """True when a user would care about the difference (always True if no previous)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgressSnapshot:
        raise NotImplementedError


def snapshot(entries: list[ProgressEntry]) -> ProgressSnapshot:
    """Derive the snapshot of one progress answer (several entries are aggregated)."""
    raise NotImplementedError
