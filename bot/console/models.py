"""Typed views of the console's JSON answers, parsed defensively.

Unknown fields are ignored, missing ones take defaults, wrong types fall back to defaults
rather than crash; only a body whose *shape* is wrong (e.g. an object where the API
documents a list) raises :class:`~bot.console.errors.UnexpectedResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class StepProgress:
    """One step (``shared.Progress``): discovery (step 1/2) or image scan (step 2/2)."""

    total: int = 0
    scanned: int = 0
    title: str = ""
    error: str = ""
    on_demand: bool = False
    hostname: str = ""


@dataclass(frozen=True, slots=True)
class ProgressEntry:
    """One element of ``GET /registry/progress`` (``shared.RegistryScanProgress``)."""

    discovery: StepProgress = field(default_factory=StepProgress)
    image_scan: StepProgress = field(default_factory=StepProgress)
    is_scan_ongoing: bool = False
    spec_scan_start_time: datetime | None = None


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
    risk_score: float | None = None
    error: str = ""


def parse_progress(payload: object) -> list[ProgressEntry]:
    """Parse the body of ``GET /registry/progress``.  ``null`` and ``[]`` give ``[]``."""
    raise NotImplementedError  # filled in by the console work package


def parse_scan_results(payload: object) -> list[ScanResult]:
    """Parse the body of ``GET /registry``.  ``null`` and ``[]`` give ``[]``."""
    raise NotImplementedError  # filled in by the console work package
