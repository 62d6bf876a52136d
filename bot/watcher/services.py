"""The collaborators that listeners and the watcher share, built once and passed down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config.settings import Settings
from bot.domain.ports import Console, utc_now

if TYPE_CHECKING:
    from bot.process.health import Health
    from bot.store import Store


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    console: Console
    store: Store
    clock: Callable[[], datetime] = utc_now
    #: The process's health state (``/scanprogress status``); None in unit tests.
    health: Health | None = None
