"""What the domain needs from the outside world, as protocols: the console, Slack, delivery.

The console client (:class:`bot.console.client.ConsoleClient`), the Slack notifier
(:class:`bot.slack.notifier.SlackNotifier`) and the outbox's sender
(:class:`bot.delivery.sender.Sender`) implement them; the watcher and the sender see only
these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.console_types import ProgressEntry, RegistryStatus, ResultLookup, ScanResult
from bot.domain.events import Destination, Event, ParentView
from bot.domain.images import ScanTarget


class Console(Protocol):
    """What scanbot needs from the console: the one console interface (implemented by
    :class:`bot.console.client.ConsoleClient`; the watcher, the terminal, the checks and
    the digest all take it).  Every method raises only ``bot.console.errors.ConsoleError``
    subclasses for the console's failures."""

    def ping(self) -> None:
        """Reach the console without credentials (``GET /_ping``)."""
        ...

    def version(self) -> str:
        """The console's version; the first request that needs credentials."""
        ...

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]: ...

    def scan_result(self, target: ScanTarget) -> ScanResult | None:
        """The newest result of one image (None: the console has none); may wait for
        ``GET /registry``'s rate limit."""
        ...

    def scan_results(self, targets: Sequence[ScanTarget]) -> ResultLookup:
        """The newest results of several images in few requests, never waiting for
        ``GET /registry``'s rate limit: what cannot be asked now is left out."""
        ...

    def registry_status(self) -> RegistryStatus: ...

    def trigger_scan(self, target: ScanTarget) -> None: ...


class ThreadState(StrEnum):
    """Where a thread's delivery stands after an attempt to deliver it now."""

    DELIVERED = "delivered"  # nothing left to send
    WAITING = "waiting"  # something is still owed (Slack slow or failing; retried later)
    GONE = "gone"  # the channel or parent cannot be posted in: the thread was closed


class Notifier(Protocol):
    """How messages reach people (implemented by :class:`bot.slack.notifier.SlackNotifier`).

    Used by the outbox's sender, never directly by the watcher.  ``marker`` is the outbox
    key of the message; it travels with the message so that a send whose outcome was lost
    can be looked for before it is repeated.  Every method raises only
    :class:`bot.domain.events.DeliveryError` subclasses for transport failures.
    """

    def post_parent(
        self, channel_id: str, view: ParentView, *, marker: str, plain: bool = False
    ) -> Destination:
        """Post the parent message; the returned destination is its thread."""
        ...

    def find_parent(self, channel_id: str, marker: str, *, since: datetime) -> Destination | None:
        """The thread of a parent posted with ``marker`` since ``since``, if there is one."""
        ...

    def update_parent(self, destination: Destination, view: ParentView) -> None:
        """Edit the parent message in place to show ``view``."""
        ...

    def notify(
        self, destination: Destination, event: Event, *, marker: str, plain: bool = False
    ) -> str:
        """Tell ``destination`` (a thread) that ``event`` happened; returns the reply's id."""
        ...

    def find_reply(self, destination: Destination, marker: str) -> str | None:
        """The id of a reply posted with ``marker`` in the destination's thread, if any."""
        ...


class Delivery(Protocol):
    """What the watcher asks of the outbox's sender (implemented by ``bot.delivery.Sender``)."""

    def kick(self) -> None:
        """Messages were owed: deliver them soon (without waiting here)."""
        ...

    def deliver_now(self, thread_key: str) -> ThreadState:
        """Deliver what ``thread_key`` owes now, in this thread; say where the thread stands."""
        ...


def utc_now() -> datetime:
    return datetime.now(UTC)
