"""The collaborators that listeners and the watcher share, built once and passed down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from bot.console.models import ProgressEntry, ScanResult
from bot.images import ScanTarget
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.store import Store


class Console(Protocol):
    """What scanbot needs from the console (implemented by ConsoleClient)."""

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]: ...

    def scan_result(self, target: ScanTarget) -> ScanResult | None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    console: Console
    store: Store
    clock: Callable[[], datetime] = utc_now
