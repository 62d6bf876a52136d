"""Typed views of the console's JSON answers, parsed defensively.

Unknown fields are ignored, missing ones take defaults, wrong types fall back to defaults
rather than crash; only a body whose *shape* is wrong (e.g. an object where the API
documents a list) raises :class:`~bot.console.errors.UnexpectedResponse`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.console.errors import UnexpectedResponse

#: Counts beyond this are nonsense; clamp so they fit a 64-bit database column.
_MAX_COUNT = 2**63 - 1
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,19}")


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
    return [_progress_entry(item) for item in _items(payload, "registry/progress")]


def parse_scan_results(payload: object) -> list[ScanResult]:
    """Parse the body of ``GET /registry``.  ``null`` and ``[]`` give ``[]``."""
    return [_scan_result(item) for item in _items(payload, "registry")]


# --- private helpers -------------------------------------------------------------------


def _items(payload: object, endpoint: str) -> list[dict[str, Any]]:
    """The object elements of a documented list; ``null`` is an empty list."""
    if payload is None:
        return []
    if not isinstance(payload, list):
        raise UnexpectedResponse(
            f"the console's answer to {endpoint} is a {_json_type(payload)}, not a list"
        )
    return [item for item in payload if isinstance(item, dict)]


def _progress_entry(item: dict[str, Any]) -> ProgressEntry:
    return ProgressEntry(
        discovery=_step(item.get("discovery")),
        image_scan=_step(item.get("imageScan")),
        is_scan_ongoing=_bool(item.get("isScanOngoing")),
        spec_scan_start_time=_time(item.get("specScanStartTime")),
    )


def _step(value: object) -> StepProgress:
    data = _dict(value)
    return StepProgress(
        total=_count(data.get("total")),
        scanned=_count(data.get("scanned")),
        title=_text(data.get("title")),
        error=_text(data.get("error")),
        on_demand=_bool(data.get("onDemand")),
        hostname=_text(data.get("hostname")),
    )


def _scan_result(item: dict[str, Any]) -> ScanResult:
    vulnerabilities = _distribution(item.get("vulnerabilityDistribution"))
    compliance = _distribution(item.get("complianceDistribution"))
    return ScanResult(
        image=_image_name(item),
        vulnerabilities=vulnerabilities,
        compliance=compliance,
        # Older consoles omit the counts; the distributions' totals say the same.
        vulnerabilities_count=_count(item.get("vulnerabilitiesCount", vulnerabilities.total)),
        compliance_issues_count=_count(item.get("complianceIssuesCount", compliance.total)),
        scan_time=_time(item.get("scanTime")),
        risk_score=finite_number(item.get("vulnerabilityRiskScore")),
        error=_text(item.get("err")),
    )


def _image_name(item: dict[str, Any]) -> str:
    """``[registry/]repo[:tag]`` of one ``shared.ImageScanResult`` (``_id`` when unnamed)."""
    repo_tag = _dict(item.get("repoTag"))
    if not _text(repo_tag.get("repo")):
        tags = item.get("tags")
        first = tags[0] if isinstance(tags, list) and tags else None
        repo_tag = _dict(first)
    repo = _text(repo_tag.get("repo"))
    if not repo:
        return _text(item.get("_id")) or _text(item.get("id"))
    registry = _text(repo_tag.get("registry"))
    name = f"{registry}/{repo}" if registry else repo
    tag = _text(repo_tag.get("tag"))
    return f"{name}:{tag}" if tag else name


def _distribution(value: object) -> SeverityCounts:
    data = _dict(value)
    return SeverityCounts(
        critical=_count(data.get("critical")),
        high=_count(data.get("high")),
        medium=_count(data.get("medium")),
        low=_count(data.get("low")),
        total=_count(data.get("total")),
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _bool(value: object) -> bool:
    """JSON booleans, and the strings ``"true"``/``"false"``; anything else is False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return False


def _count(value: object) -> int:
    """A non-negative count: ints, integral floats and int-like strings; else 0."""
    if isinstance(value, bool):
        return 0
    number: int
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            return 0
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _INT_TEXT.fullmatch(text):
            return 0
        number = int(text)
    else:
        return 0
    return min(max(number, 0), _MAX_COUNT)


def finite_number(value: object) -> float | None:
    """A finite JSON number as float, or None (bools, strings, NaN and overflow too)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _time(value: object) -> datetime | None:
    """An RFC 3339 time (UTC when no offset); Go's zero time and garbage give None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    # Go emits nanoseconds; Python 3.11 parses at most microseconds.
    text = _trim_fraction(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year <= 1:
        return None
    try:
        return parsed.astimezone(UTC)  # near datetime's limits an offset can overflow
    except OverflowError:
        return None


def _trim_fraction(text: str) -> str:
    dot = text.find(".")
    if dot < 0:
        return text
    end = dot + 1
    while end < len(text) and text[end].isdigit():
        end += 1
    digits = text[dot + 1 : end]
    if len(digits) <= 6:
        return text
    return text[: dot + 1] + digits[:6] + text[end:]


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "JSON object"
    if isinstance(value, str):
        return "JSON string"
    if isinstance(value, bool):
        return "JSON boolean"
    if isinstance(value, int | float):
        return "JSON number"
    return type(value).__name__
