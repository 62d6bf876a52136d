"""The one console interface (:class:`bot.domain.ports.Console`) for unit tests' fakes.

:class:`StubConsole` implements every method of the protocol with a quiet answer (no scan,
no result, an empty registry status); a fake subclasses it and overrides what its test is
about, so every fake is a full :class:`~bot.domain.ports.Console`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.console_types import ProgressEntry, RegistryStatus, ResultLookup, ScanResult
from bot.domain.images import ScanTarget
from bot.domain.ports import Console

#: The version a stub console reports.
STUB_VERSION = "34.04.145"


class StubConsole(Console):
    """A console with nothing going on: every answer is the quiet one."""

    def ping(self) -> None:
        return None

    def version(self) -> str:
        return STUB_VERSION

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]:
        return []

    def scan_result(self, target: ScanTarget) -> ScanResult | None:
        return None

    def scan_results(self, targets: Sequence[ScanTarget]) -> ResultLookup:
        """Each image through :meth:`scan_result` (so a fake overrides only that)."""
        return ResultLookup({target.key: self.scan_result(target) for target in targets})

    def registry_status(self) -> RegistryStatus:
        return RegistryStatus()

    def trigger_scan(self, target: ScanTarget) -> None:
        return None
