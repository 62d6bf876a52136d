"""Replay protection shared through the database: a signed Slack request accepted by one
replica (or by this process before a restart) is ignored by every other within Slack's
signing window.

The process's own :class:`~bot.slack.guard.ReplayCache` answers first (no database round
trip for a replay to the same replica) and stands in alone while the database does not
answer: requests are never refused because the database is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.slack.guard import SIGNING_WINDOW_SECONDS, ReplayCache

log = logging.getLogger(__name__)


class SeenRequests(Protocol):
    """The store's half (:class:`bot.store.replays.ReplayStore`)."""

    def first_sighting(self, signature: str, *, until: datetime, now: datetime) -> bool: ...


class SharedReplays:
    """:class:`~bot.slack.guard.Replays` through the database, this process's memory first."""

    def __init__(
        self,
        store: SeenRequests,
        *,
        clock: Callable[[], float] = time.time,
        local: ReplayCache | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._local = local if local is not None else ReplayCache()
        self._failing = threading.Event()

    def seen_before(self, signature: str, *, timestamp: int | None = None) -> bool:
        if self._local.seen_before(signature):
            return True
        now = self._clock()
        # Valid while the request's timestamp is within the window of now: keep it so long.
        until = (timestamp if timestamp is not None else now) + SIGNING_WINDOW_SECONDS + 1
        try:
            first = self._store.first_sighting(
                signature,
                until=datetime.fromtimestamp(until, UTC),
                now=datetime.fromtimestamp(now, UTC),
            )
        except SQLAlchemyError as exc:
            if not self._failing.is_set():
                self._failing.set()
                log.warning(
                    "replay protection falls back to this process's memory: the database "
                    "did not answer (%s)",
                    type(exc).__name__,
                )
            return False
        if self._failing.is_set():
            self._failing.clear()
            log.warning("replay protection is shared through the database again")
        return not first
