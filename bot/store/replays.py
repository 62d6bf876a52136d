"""Slack request signatures seen recently, in the database so every replica shares them.

A signature is valid only while its timestamp is within Slack's signing window of now, so
a row is kept until then and rows past it are pruned as new ones are recorded.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.store.tables import as_utc, seen_requests


class ReplayStore:
    """The replay half of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def first_sighting(self, signature: str, *, until: datetime, now: datetime) -> bool:
        """Record ``signature`` as seen until ``until``; False when a replica (or this
        process before a restart) recorded it already and it has not expired."""
        now = as_utc(now)
        try:
            with self._write() as connection:
                connection.execute(seen_requests.delete().where(seen_requests.c.expires_at <= now))
                connection.execute(
                    seen_requests.insert().values(signature=signature, expires_at=as_utc(until))
                )
        except IntegrityError:
            return False
        return True

    def count_seen_requests(self) -> int:
        """Rows kept now (for tests and the operator's curiosity)."""
        with self._write() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(seen_requests)
                ).scalar_one()
            )
