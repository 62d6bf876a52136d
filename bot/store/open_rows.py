"""Reading the open watches cheaply: their ids, revisions and time followed, then whole rows
only for the ids asked (the poll cycle's :class:`bot.watcher.open_watches.OpenWatches`)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.domain.watch import Watch, WatchState
from bot.store.tables import watches
from bot.store.watch_rows import Parsed, to_watch

OPEN_STATES = tuple(state.value for state in WatchState if state.is_open)


@functools.cache
def _open_revisions_sql() -> str:
    """The light query as plain SQL that every supported database reads alike (its only
    values are this module's constants)."""
    query = (
        sa.select(watches.c.id, watches.c.revision, watches.c.watched_seconds)
        .where(watches.c.state.in_(OPEN_STATES))
        .order_by(watches.c.id)
    )
    return str(query.compile(compile_kwargs={"literal_binds": True}))


#: Ids per ``IN (...)`` list when whole rows are read (well below every database's limit).
_CHUNK = 500


class OpenRowStore:
    """The open-rows part of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def open_revisions(self) -> list[tuple[int, int, float]]:
        """``(id, revision, watched_seconds)`` of every open watch, oldest first: one light
        query (three numbers a row), read through the driver's own cursor — SQLAlchemy's
        result rows cost more than the query for ten thousand rows."""
        with self._read() as connection:
            cursor = connection.connection.cursor()
            try:
                cursor.execute(_open_revisions_sql())
                return [(int(i), int(r), float(w or 0.0)) for i, r, w in cursor.fetchall()]
            finally:
                cursor.close()

    def watches_by_id(self, ids: Sequence[int]) -> dict[int, tuple[int, Watch]]:
        """``id -> (revision, watch)`` for those of ``ids`` that exist (open or not)."""
        found: dict[int, tuple[int, Watch]] = {}
        parsed = Parsed()
        with self._read() as connection:
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start : start + _CHUNK])
                query = watches.select().where(watches.c.id.in_(chunk))
                for row in connection.execute(query).mappings():
                    found[int(row["id"])] = (int(row["revision"]), to_watch(row, parsed))
        return found
