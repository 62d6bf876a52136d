"""The open watches as the poll cycle last read them, re-read only where a row changed.

Turning every open row into a :class:`~bot.domain.watch.Watch` (JSON of its snapshot and
follow state, times, enums) was most of a cycle's CPU with thousands of watches that do not
change.  :class:`OpenWatches` keeps the watches it read with their ``revision`` (raised by
every change of a row but its time followed, :func:`bot.store.tables.revised`); each read
asks the database for the ids, revisions and times followed of the open watches — three
numbers a row — and reads whole rows only for new ids and moved revisions.  The time
followed is always the database's, from that same light query.

The keeper belongs to one process's poll cycle and is used by one thread at a time.
"""

from __future__ import annotations

from bot.domain.watch import Watch
from bot.store import Store

#: One open watch as read now: the watch (its ``watched_seconds`` may be older) and its
#: time followed now.
Listed = tuple[Watch, float]


class OpenWatches:
    """A per-process memory of the open watches, kept current by revision."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._known: dict[int, tuple[int, Watch]] = {}
        self.rows_read = 0  # whole rows read since the start (for tests and the bench)

    def read(self) -> list[Listed]:
        """Every open watch, oldest first; rows read only where they changed."""
        revisions = self._store.open_revisions()
        known = self._known
        stale = [i for i, revision, _watched in revisions if known.get(i, (-1,))[0] != revision]
        if stale:
            for watch_id, (revision, watch) in self._store.watches_by_id(stale).items():
                if watch.state.is_open:  # one that ended meanwhile is not kept
                    known[watch_id] = (revision, watch)
            self.rows_read += len(stale)
        listed: list[Listed] = []
        still: dict[int, tuple[int, Watch]] = {}
        for watch_id, revision, watched in revisions:
            entry = known.get(watch_id)
            if entry is None or entry[0] < revision:
                continue  # deleted or ended between the two queries
            still[watch_id] = entry
            listed.append((entry[1], watched))
        self._known = still  # watches no longer open are forgotten
        return listed

    def forget(self) -> None:
        """Read every row again at the next :meth:`read` (e.g. after the database was
        recreated)."""
        self._known.clear()
