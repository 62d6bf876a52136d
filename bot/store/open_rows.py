"""Reading the open watches cheaply: the follow clock, their ids, revisions and clock
readings when their following began, then whole rows only for the ids asked (the poll
cycle's :class:`bot.watcher.open_watches.OpenWatches`)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.domain.watch import Watch
from bot.store.tables import FOLLOW_CLOCK_ID, follow_clock, watches
from bot.store.watch_rows import Parsed, is_open, select_watches, to_watch


@functools.cache
def _open_rows_sql() -> tuple[str, str]:
    """The light queries as plain SQL that every supported database reads alike (their
    only values are this module's constants): the open rows, and the follow clock."""
    rows = (
        sa.select(watches.c.id, watches.c.revision, watches.c.followed_from)
        .where(is_open())
        .order_by(watches.c.id)
    )
    clock = sa.select(follow_clock.c.followed_seconds).where(follow_clock.c.id == FOLLOW_CLOCK_ID)
    return _literal(rows), _literal(clock)


def _literal(query: sa.Select[tuple[object, ...]]) -> str:
    return str(query.compile(compile_kwargs={"literal_binds": True}))


#: ``(id, revision, followed_from)`` of an open watch, as the driver returns it.
OpenRow = tuple[int, int, float]


#: Ids per ``IN (...)`` list when whole rows are read (well below every database's limit).
_CHUNK = 500


class OpenRowStore:
    """The open-rows part of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def open_revisions(self) -> tuple[float, list[OpenRow]]:
        """The follow clock's reading, and ``(id, revision, followed_from)`` of every open
        watch, oldest first: two light queries (three numbers a row), read through the
        driver's own cursor — SQLAlchemy's result rows cost more than the query for ten
        thousand rows.  An open watch's time followed is the reading less its
        ``followed_from``."""
        rows_sql, clock_sql = _open_rows_sql()
        with self._read() as connection:
            cursor = connection.connection.cursor()
            try:
                cursor.execute(clock_sql)
                reading = cursor.fetchone()
                cursor.execute(rows_sql)
                rows: list[OpenRow] = list(cursor.fetchall())
            finally:
                cursor.close()
        return (0.0 if reading is None else float(reading[0])), rows

    def watches_by_id(self, ids: Sequence[int]) -> dict[int, tuple[int, Watch]]:
        """``id -> (revision, watch)`` for those of ``ids`` that exist (open or not)."""
        found: dict[int, tuple[int, Watch]] = {}
        parsed = Parsed()
        with self._read() as connection:
            for start in range(0, len(ids), _CHUNK):
                chunk = list(ids[start : start + _CHUNK])
                query = select_watches().where(watches.c.id.in_(chunk))
                for row in connection.execute(query).mappings():
                    found[int(row["id"])] = (int(row["revision"]), to_watch(row, parsed))
        return found
