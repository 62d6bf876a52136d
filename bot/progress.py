"""The progress model: what one progress answer means to a person.

From the entries of one ``GET /registry/progress`` answer, :func:`snapshot` derives the
phase, counts and percentages per step, the console's error, a one-line summary, and
:meth:`ProgressSnapshot.material` — the part whose change is worth telling a user about.
Snapshots round-trip through JSON (:meth:`to_dict` / :meth:`from_dict`) so the store can
keep the last one seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.console.models import ProgressEntry, StepProgress

ERROR_LIMIT = 500  # characters of console error text kept in a snapshot
TITLE_LIMIT = 300  # characters of a step title kept in a snapshot
_ELLIPSIS = "\u2026"


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
        if self.total <= 0:
            return 0
        return max(0, min(100, self.scanned * 100 // self.total))

    @property
    def done(self) -> bool:
        """True when the step has a known total and every item of it was handled."""
        return self.total > 0 and self.scanned >= self.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "scanned": self.scanned,
            "title": self.title,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: object) -> StepView:
        """Tolerant inverse of :meth:`to_dict`: missing or mistyped keys take defaults."""
        if not isinstance(data, dict):
            return cls()
        total, scanned = _clamp(_as_int(data.get("total")), _as_int(data.get("scanned")))
        return cls(
            total=total,
            scanned=scanned,
            title=_as_str(data.get("title")),
            error=_as_str(data.get("error")),
        )


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
        """One line for a person, e.g. ``Step 2/2 scanning images: 3/10 (30%)``.

        Plain text, unescaped.
        """
        if self.phase is Phase.DISCOVERING:
            return f"Step 1/2 discovering: {_counts(self.discovery)}"
        if self.phase is Phase.SCANNING:
            return f"Step 2/2 scanning images: {_counts(self.image_scan)}"
        if self.phase is Phase.COMPLETE:
            step = self.image_scan
            if step.total <= 0:
                return "Scan complete: no images to scan"
            noun = "image" if step.total == 1 else "images"
            return f"Scan complete: {step.scanned}/{step.total} {noun} scanned"
        if self.phase is Phase.FAILED:
            return f"Scan failed: {self.error}" if self.error else "Scan failed"
        return "No scan in progress"

    def material(self) -> tuple[object, ...]:
        """What a user cares about: phase, counts per step, error.  Titles are excluded."""
        return (
            self.phase,
            self.discovery.total,
            self.discovery.scanned,
            self.image_scan.total,
            self.image_scan.scanned,
            self.error,
        )

    def changed_from(self, previous: ProgressSnapshot | None) -> bool:
        """True when a user would care about the difference (always True if no previous)."""
        return previous is None or self.material() != previous.material()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form; datetimes become ISO-8601 strings in UTC."""
        return {
            "phase": self.phase.value,
            "discovery": self.discovery.to_dict(),
            "image_scan": self.image_scan.to_dict(),
            "error": self.error,
            "started_at": _utc(self.started_at).isoformat() if self.started_at else None,
            "entries": self.entries,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgressSnapshot:
        """Inverse of :meth:`to_dict`, tolerant of stored shapes old and new.

        Missing or mistyped keys take their defaults; an unknown phase becomes ``IDLE``.
        """
        try:
            phase = Phase(str(data.get("phase", "")))
        except ValueError:
            phase = Phase.IDLE
        return cls(
            phase=phase,
            discovery=StepView.from_dict(data.get("discovery")),
            image_scan=StepView.from_dict(data.get("image_scan")),
            error=_as_str(data.get("error")),
            started_at=_as_datetime(data.get("started_at")),
            entries=max(0, _as_int(data.get("entries"))),
        )


def snapshot(entries: list[ProgressEntry]) -> ProgressSnapshot:
    """Derive the snapshot of one progress answer (several entries are aggregated).

    Counts are clamped per entry and summed per step; the scan is ongoing when any entry
    says so.  While ongoing the phase is ``DISCOVERING`` until discovery is done, then
    ``SCANNING``; once not ongoing it is ``FAILED`` if a step reports an error, else
    ``COMPLETE``.  ``[]`` means ``IDLE``.
    """
    if not entries:
        return ProgressSnapshot(phase=Phase.IDLE)
    discovery = _aggregate([entry.discovery for entry in entries])
    image_scan = _aggregate([entry.image_scan for entry in entries])
    error = _join_unique([discovery.error, image_scan.error], ERROR_LIMIT)
    if any(entry.is_scan_ongoing for entry in entries):
        discovering = discovery.scanned < discovery.total or (
            discovery.total == 0 and image_scan.total == 0
        )
        phase = Phase.DISCOVERING if discovering else Phase.SCANNING
    else:
        phase = Phase.FAILED if error else Phase.COMPLETE
    # Go's zero time (0001-01-01) is what the console sends for "unset".
    starts = [
        _utc(entry.spec_scan_start_time)
        for entry in entries
        if entry.spec_scan_start_time is not None and entry.spec_scan_start_time.year > 1
    ]
    return ProgressSnapshot(
        phase=phase,
        discovery=discovery,
        image_scan=image_scan,
        error=error,
        started_at=min(starts) if starts else None,
        entries=len(entries),
    )


def _aggregate(steps: list[StepProgress]) -> StepView:
    total = scanned = 0
    for step in steps:
        step_total, step_scanned = _clamp(step.total, step.scanned)
        total += step_total
        scanned += step_scanned
    return StepView(
        total=total,
        scanned=scanned,
        title=_join_unique([step.title for step in steps], TITLE_LIMIT),
        error=_join_unique([step.error for step in steps], ERROR_LIMIT),
    )


def _clamp(total: int, scanned: int) -> tuple[int, int]:
    """Negative counts become 0; ``scanned`` never exceeds ``total`` (which grows from 0)."""
    total, scanned = max(0, total), max(0, scanned)
    if total == 0:
        total = scanned
    return total, min(scanned, total)


def _counts(step: StepView) -> str:
    if step.total <= 0:
        return "starting"
    return f"{step.scanned}/{step.total} ({step.percent}%)"


def _join_unique(texts: list[str], limit: int) -> str:
    """Distinct non-blank texts in order, joined with ``"; "``, at most ``limit`` characters."""
    seen: list[str] = []
    for text in texts:
        cleaned = " ".join(text.split())
        if cleaned and cleaned not in seen:
            seen.append(cleaned)
    joined = "; ".join(seen)
    if len(joined) <= limit:
        return joined
    return joined[: limit - 1].rstrip() + _ELLIPSIS


def _utc(when: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return 0


def _as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _as_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _utc(datetime.fromisoformat(value))
    except ValueError:
        return None
