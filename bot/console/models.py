"""Typed views of the console's JSON answers, parsed defensively.

Unknown fields are ignored, missing ones take defaults, wrong types fall back to defaults
rather than crash.  :class:`~bot.console.errors.UnexpectedResponse` is raised for the
whole answer when its *shape* is wrong (an object where the API documents a list) and
when a progress entry's ``isScanOngoing`` is anything but a JSON ``true``/``false``
(``null``, ``1``, ``"false"``, missing): whether a scan has ended is never guessed, so a
consumer that retries on :class:`~bot.console.errors.ConsoleError` never reports an odd
answer as a completion.

Counts outside ``0..MAX_ENTRY_COUNT`` are clamped and named in
:attr:`ProgressEntry.clamped`, so the UI can say that the answer looked wrong.  Go's zero
time (``0001-01-01T00:00:00Z``, the console's "unset") becomes ``None`` here and only here.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from bot.console.errors import UnexpectedResponse
from bot.domain.console_types import ProgressEntry, RegistryStatus, ScanResult, SeverityCounts
from bot.domain.steps import MAX_ENTRY_COUNT, Step

#: Counts of a scan result (vulnerabilities, compliance issues) are clamped to this.
_MAX_RESULT_COUNT = 2**63 - 1
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,19}")


def parse_progress(payload: object) -> list[ProgressEntry]:
    """Parse the body of ``GET /registry/progress``.  ``null`` and ``[]`` give ``[]``."""
    return [_progress_entry(item) for item in _items(payload, "registry/progress")]


def parse_scan_results(payload: object) -> list[ScanResult]:
    """Parse the body of ``GET /registry``.  ``null`` and ``[]`` give ``[]``."""
    return [_scan_result(item) for item in _items(payload, "registry")]


#: Errors of ``GET /statuses/registry`` kept, and the length each is cut to.
_STATUS_ERRORS_KEPT = 20
_STATUS_ERROR_MAX = 500


def parse_registry_status(payload: object) -> RegistryStatus:
    """Parse the body of ``GET /statuses/registry``; ``null`` gives an empty status."""
    if payload is None:
        return RegistryStatus()
    if not isinstance(payload, dict):
        raise UnexpectedResponse(
            f"the console's answer to statuses/registry is a {_json_type(payload)}, not an object"
        )
    raw_errors = payload.get("errors")
    texts = raw_errors if isinstance(raw_errors, list) else []
    errors = tuple(
        text.strip()[:_STATUS_ERROR_MAX] for text in texts if isinstance(text, str) and text.strip()
    )
    scanning = payload.get("scanning")
    return RegistryStatus(
        completed_at=_time(payload.get("scanTime")),
        errors=errors[-_STATUS_ERRORS_KEPT:],
        scanning=scanning if isinstance(scanning, bool) else None,
    )


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
    ongoing = item.get("isScanOngoing")
    if not isinstance(ongoing, bool):
        shown = "missing" if "isScanOngoing" not in item else _json_type(ongoing)
        raise UnexpectedResponse(
            f"the console's answer to registry/progress has an isScanOngoing that is not "
            f"true or false ({shown}); not believed"
        )
    clamped: list[str] = []
    return ProgressEntry(
        discovery=_step(item.get("discovery"), "discovery", clamped),
        image_scan=_step(item.get("imageScan"), "imageScan", clamped),
        is_scan_ongoing=ongoing,
        spec_scan_start_time=_time(item.get("specScanStartTime")),
        clamped=tuple(clamped),
    )


def _step(value: object, name: str, clamped: list[str]) -> Step:
    data = _dict(value)
    counts = {}
    for key in ("total", "scanned"):
        raw = data.get(key)
        count = _count(raw, MAX_ENTRY_COUNT)
        if raw is not None and _exact_int(raw) != count:
            clamped.append(f"{name}.{key}")
        counts[key] = count
    return Step(
        total=counts["total"],
        scanned=counts["scanned"],
        title=_text(data.get("title")),
        error=_text(data.get("error")),
    )


def _scan_result(item: dict[str, Any]) -> ScanResult:
    vulnerabilities = _distribution(item.get("vulnerabilityDistribution"))
    compliance = _distribution(item.get("complianceDistribution"))
    return ScanResult(
        image=_image_name(item),
        vulnerabilities=vulnerabilities,
        compliance=compliance,
        # Older consoles omit the counts; the distributions' totals say the same.
        vulnerabilities_count=_count(
            item.get("vulnerabilitiesCount", vulnerabilities.total), _MAX_RESULT_COUNT
        ),
        compliance_issues_count=_count(
            item.get("complianceIssuesCount", compliance.total), _MAX_RESULT_COUNT
        ),
        scan_time=_time(item.get("scanTime")),
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
        critical=_count(data.get("critical"), _MAX_RESULT_COUNT),
        high=_count(data.get("high"), _MAX_RESULT_COUNT),
        medium=_count(data.get("medium"), _MAX_RESULT_COUNT),
        low=_count(data.get("low"), _MAX_RESULT_COUNT),
        total=_count(data.get("total"), _MAX_RESULT_COUNT),
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _exact_int(value: object) -> int | None:
    """The integer a JSON value denotes (ints, floats cut, int-like strings), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _count(value: object, maximum: int) -> int:
    """A count in ``0..maximum``: ints, integral floats and int-like strings; else 0."""
    number = _exact_int(value)
    if number is None:
        return 0
    return min(max(number, 0), maximum)


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
    if parsed.year <= 1:  # Go's zero time 0001-01-01T00:00:00Z: the console's "unset"
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
