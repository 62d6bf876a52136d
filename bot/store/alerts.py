"""Alerts owed once across restarts and replicas (the dead-man's switch).

An alert's messages carry keys that name the outage they are about; the outbox's unique
``key`` lets one process, whichever gets there first, store them.  The others store nothing,
also when two replicas decide the same alert at the same moment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.domain.owed import Owed
from bot.store.outbox import enqueue


class AlertStore:
    """The alerts part of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def owe_once(self, owed: Sequence[Owed], *, now: datetime) -> int:
        """Store the messages whose keys are new; 0 when another process stored them first."""
        try:
            with self._write() as connection:
                return enqueue(connection, owed, now=now)
        except IntegrityError:
            return 0  # a replica stored the same keys a moment ago
