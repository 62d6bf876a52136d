"""The result of ``scanbot check``: Nagios statuses, findings, the summary line and JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum


class Status(IntEnum):
    """Nagios plugin statuses; the value is the process exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3  # a configuration the check cannot use


# Worst first: CRITICAL beats UNKNOWN beats WARNING beats OK (as Nagios ranks host states).
_SEVERITY = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}


def worst(statuses: list[Status]) -> Status:
    """The most severe of ``statuses`` (``OK`` for none)."""
    return max(statuses, key=_SEVERITY.__getitem__, default=Status.OK)


@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of one check.

    ``phrase`` goes into the summary line (``console 34.04.145 reachable in 45 ms``),
    ``detail`` on its own line below (what was seen and what to do), ``data`` into ``--json``.
    """

    name: str
    status: Status
    phrase: str
    detail: str = ""
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckReport:
    """All findings of one run; ``status`` is the worst of them."""

    findings: tuple[Finding, ...]
    perfdata: Mapping[str, float] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return worst([finding.status for finding in self.findings])

    def summary(self) -> str:
        """``SCANBOT OK - console 34.04.145 reachable in 45 ms, auth ok, … | latency_ms=45``."""
        phrases = ", ".join(finding.phrase for finding in self.findings) or "nothing checked"
        line = f"SCANBOT {self.status.name} - {phrases}"
        if self.perfdata:
            line += " | " + " ".join(f"{k}={_number(v)}" for k, v in self.perfdata.items())
        return line

    def lines(self) -> list[str]:
        """The summary line, then one line per finding."""
        details = [
            f"{finding.status.name:<8} {finding.name}: {finding.detail or finding.phrase}"
            for finding in self.findings
        ]
        return [self.summary(), *details]

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {
            "status": self.status.name,
            "exit_code": int(self.status),
            "summary": self.summary(),
            "checks": [
                {
                    "name": finding.name,
                    "status": finding.status.name,
                    "summary": finding.phrase,
                    "detail": finding.detail,
                    **({"data": dict(finding.data)} if finding.data else {}),
                }
                for finding in self.findings
            ],
            "perfdata": dict(self.perfdata),
        }


def unknown(reason: str) -> CheckReport:
    """The report for a configuration the check cannot use (exit 3)."""
    return CheckReport(
        findings=(
            Finding("configuration", Status.UNKNOWN, f"configuration unusable: {reason}", reason),
        )
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def ago(seconds: float) -> str:
    """``45 s``, ``12 min``, ``2h``, ``3d`` — how long ago, for a person."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"
