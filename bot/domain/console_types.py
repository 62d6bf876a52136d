"""The console's answers as values: a scan's progress, an image's result, the registry status.

Built only by the console client's defensive parser (:mod:`bot.console.models`); everything
else reads these.  Go's zero time (the console's "unset") is ``None`` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.steps import Step


@dataclass(frozen=True, slots=True)
class ProgressEntry:
    """One element of ``GET /registry/progress`` (``shared.RegistryScanProgress``).

    ``is_scan_ongoing`` is exactly the console's JSON boolean (any other value makes the
    whole answer an :class:`~bot.console.errors.UnexpectedResponse`).  ``clamped`` names
    the counts that were out of range (e.g. ``("imageScan.total",)``).
    """

    discovery: Step = field(default_factory=Step)
    image_scan: Step = field(default_factory=Step)
    is_scan_ongoing: bool = False
    spec_scan_start_time: datetime | None = None
    clamped: tuple[str, ...] = ()

    @property
    def suspicious(self) -> bool:
        """True when the console sent counts that cannot be right (they were clamped)."""
        return bool(self.clamped)


@dataclass(frozen=True, slots=True)
class SeverityCounts:
    """``vuln.Distribution``: counts by severity."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The summary of one scanned image from ``GET /registry`` (``shared.ImageScanResult``)."""

    image: str
    vulnerabilities: SeverityCounts = field(default_factory=SeverityCounts)
    compliance: SeverityCounts = field(default_factory=SeverityCounts)
    vulnerabilities_count: int = 0
    compliance_issues_count: int = 0
    scan_time: datetime | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class ResultLookup:
    """What one lookup of several images' results told.

    ``found`` maps an image key to its newest result, or to None when the console has no
    result of it.  An image missing from ``found`` was not told this time (the console's
    rate limit allowed no request now, or a request failed: ``problem`` says why); ask
    again later.
    """

    found: dict[str, ScanResult | None] = field(default_factory=dict)
    problem: str = ""


@dataclass(frozen=True, slots=True)
class RegistryStatus:
    """``GET /statuses/registry`` (``defender.ScanStatus``): the last regular scan's outcome.

    ``completed_at`` is when the last regular scan completed (None when never or unknown);
    ``errors`` are the errors of that scan, as the console worded them;
    ``scanning`` is None unless the console said true/false.
    """

    completed_at: datetime | None = None
    errors: tuple[str, ...] = ()
    scanning: bool | None = None
