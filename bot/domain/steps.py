"""One step of a scan (discovery, image scan): its counts, clamped to sane values.

The one type for a step, from the console's answer (:mod:`bot.console.models`) to what every
UI shows (:mod:`bot.domain.progress`, Slack, the terminal).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

#: The largest believable count of one progress entry's step (tags discovered, images
#: scanned): the console parser clamps larger values, and negative ones, and names them in
#: ``ProgressEntry.clamped``; such an entry makes its snapshot ``suspicious``.
MAX_ENTRY_COUNT = 10**7
#: A step's count summed over many entries is capped here (and the snapshot marked
#: ``suspicious``); stored snapshots are held to it too when read back.
MAX_STEP_COUNT = 10**9
NOT_STARTED = "not started"
_STEP_PREFIX = re.compile(r"^\s*step\s+\d+\s*/\s*\d+\s*[:.\-\u2013\u2014]?\s*", re.IGNORECASE)


def without_step_prefix(title: str) -> str:
    """A console title without its own "Step 1/2" (shown beside our "Step 1/2" label, it
    would say it twice): ``Step 1/2 discovering tags`` -> ``Discovering tags``."""
    rest = _STEP_PREFIX.sub("", title, count=1)
    return rest[:1].upper() + rest[1:] if rest != title else title


@dataclass(frozen=True, slots=True)
class Step:
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

    @property
    def started(self) -> bool:
        """True once the console knows how many items the step has (total > 0)."""
        return self.total > 0

    def counts_text(self, noun: str = "") -> str:
        """``3/10 images (30%)`` (``3/10 (30%)`` without a noun), or ``not started`` while
        the total is unknown.  The one wording of a step's counts for every UI."""
        if not self.started:
            return NOT_STARTED
        counted = f"{self.scanned}/{self.total} {noun}".rstrip()
        return f"{counted} ({self.percent}%)"

    def scanned_text(self, noun: str = "image") -> str:
        """``3/10 images scanned`` (``1/1 image scanned``), or ``""`` while the total is
        unknown.  The one wording of how much of a step was done once it has ended."""
        if not self.started:
            return ""
        nouns = noun if self.total == 1 else f"{noun}s"
        return f"{self.scanned}/{self.total} {nouns} scanned"

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "scanned": self.scanned,
            "title": self.title,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: object) -> Step:
        """Tolerant inverse of :meth:`to_dict`: missing or mistyped keys take defaults."""
        if not isinstance(data, dict):
            return cls()
        total, scanned, _ = cap_counts(
            *clamp_counts(as_int(data.get("total")), as_int(data.get("scanned")))
        )
        return cls(
            total=total,
            scanned=scanned,
            title=as_str(data.get("title")),
            error=as_str(data.get("error")),
        )


def clamp_counts(total: int, scanned: int) -> tuple[int, int]:
    """Negative counts become 0; ``scanned`` never exceeds ``total`` (which grows from 0)."""
    total, scanned = max(0, total), max(0, scanned)
    if total == 0:
        total = scanned
    return total, min(scanned, total)


def cap_counts(total: int, scanned: int) -> tuple[int, int, bool]:
    """Clamped counts capped at :data:`MAX_STEP_COUNT`, and whether a cap was needed."""
    if total <= MAX_STEP_COUNT:
        return total, scanned, False
    return MAX_STEP_COUNT, min(scanned, MAX_STEP_COUNT), True


def as_int(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return 0


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""
