"""Results worth trusting: is a result this scan's, how it differs from the previous one,
and where the console shows it.  Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from bot.domain.console_types import ScanResult
from bot.domain.images import ScanTarget

_SEVERITIES = ("critical", "high", "medium", "low")


def is_fresh(
    result: ScanResult, *, baseline: ScanResult | None, started_at: datetime | None
) -> bool:
    """True when ``result`` comes from the scan just followed, not from an earlier one.

    It must be newer than the result the image had when following started (``baseline``)
    and not older than the scan's start, when the console gave one.  Both comparisons use
    the console's own times, so the bot's clock never enters into it.  A result without a
    scan time cannot be dated: it counts as fresh only when there was no baseline either.
    """
    if result.scan_time is None:
        return baseline is None
    scanned = _utc(result.scan_time)
    before = baseline.scan_time if baseline is not None else None
    if before is not None and scanned <= _utc(before):
        return False
    return started_at is None or scanned >= _utc(started_at)


def _utc(when: datetime) -> datetime:
    """Aware UTC; a naive time is taken to be UTC already (as the console's are)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def severity_diff(baseline: ScanResult, result: ScanResult) -> str:
    """``2 new critical, 1 new high, 5 fixed`` — from the severity counts of both results.

    The console's compact answer gives counts per severity, not the vulnerabilities
    themselves, so "new" is a severity's increase and "fixed" the sum of the decreases.
    """
    before, after = baseline.vulnerabilities, result.vulnerabilities
    parts: list[str] = []
    fixed = 0
    for name in _SEVERITIES:
        delta = getattr(after, name) - getattr(before, name)
        if delta > 0:
            parts.append(f"{delta} new {name}")
        else:
            fixed -= delta
    if fixed:
        parts.append(f"{fixed} fixed")
    return ", ".join(parts) if parts else "no change in vulnerabilities"


def console_link(console_url: str | None, target: ScanTarget) -> str:
    """The console's page of registry images, filtered to ``target`` ("" without a URL)."""
    if not console_url:
        return ""
    base = console_url.rstrip("/")
    search = quote(target.key, safe="")
    return f"{base}/#!/monitor/vulnerabilities/images/registries?search={search}"
