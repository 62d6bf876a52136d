"""Store queries of the on-call digest: watches finished since a time, and small named values."""

from __future__ import annotations

import contextlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.domain.watch import Watch, WatchState
from bot.store.tables import as_utc, kv, watches
from bot.store.watch_rows import select_watches, to_watch

_FINAL_STATES = tuple(state.value for state in WatchState if not state.is_open)


class DigestStore:
    """Mixed into :class:`bot.store.Store` (which provides the transactions)."""

    def finished_since(self, when: datetime, *, until: datetime | None = None) -> list[Watch]:
        """Watches that ended at or after ``when`` (and before ``until``), oldest first."""
        query = select_watches().where(
            watches.c.state.in_(_FINAL_STATES), watches.c.finished_at >= as_utc(when)
        )
        if until is not None:
            query = query.where(watches.c.finished_at < as_utc(until))
        query = query.order_by(watches.c.finished_at, watches.c.id)
        with self._read() as connection:
            return [to_watch(row) for row in connection.execute(query).mappings()]

    def get_value(self, key: str) -> str | None:
        with self._read() as connection:
            row = connection.execute(sa.select(kv.c.value).where(kv.c.key == key)).first()
        return None if row is None else str(row[0])

    def set_value(self, key: str, value: str, *, now: datetime) -> None:
        """Insert or replace the value named ``key`` (a replica inserting it at the same
        moment makes this an update)."""
        change = kv.update().where(kv.c.key == key).values(value=value, updated_at=as_utc(now))
        try:
            with self._write() as connection:
                if not connection.execute(change).rowcount:
                    connection.execute(
                        kv.insert().values(key=key, value=value, updated_at=as_utc(now))
                    )
        except IntegrityError:
            with self._write() as connection:
                connection.execute(change)

    # Transactions come from the Store (bot.store.watches); declared for the type checker.
    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError
