"""The collaborators that listeners and the watcher share, built once and passed down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from bot.console.models import ProgressEntry, ScanResult
from bot.images import ScanTarget
from bot.notify import Destination, Event, ParentView, Subject
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.health import Health
    from bot.store import Store


class Console(Protocol):
    """What scanbot needs from the console (implemented by ConsoleClient)."""

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]: ...

    def scan_result(self, target: ScanTarget) -> ScanResult | None: ...


class Notifier(Protocol):
    """How the watcher tells people (implemented by :class:`bot.slack.notifier.SlackNotifier`).

    Every method raises only :class:`bot.notify.DeliveryError` subclasses for transport
    failures: ``DestinationGone``, ``MessageGone`` or ``DeliveryFailed``.
    """

    def post_parent(self, channel_id: str, view: ParentView) -> Destination:
        """Post the parent message; the returned destination is its thread."""
        ...

    def find_parent(self, channel_id: str, subject: Subject) -> Destination | None:
        """The thread of a parent already posted for ``subject`` (after a crash), if any."""
        ...

    def update_parent(self, destination: Destination, view: ParentView) -> None:
        """Edit the parent message in place to show ``view``."""
        ...

    def notify(self, destination: Destination, event: Event) -> None:
        """Tell ``destination`` (a thread) that ``event`` happened."""
        ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    console: Console
    store: Store
    clock: Callable[[], datetime] = utc_now
    #: The process's health state (``/scanprogress status``); None in unit tests.
    health: Health | None = None
