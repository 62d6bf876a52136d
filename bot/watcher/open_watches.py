"""The open watches as the poll cycle last read them, re-read only where a row changed.

Turning every open row into a :class:`~bot.domain.watch.Watch` (JSON of its snapshot and
follow state, times, enums) was most of a cycle's CPU with thousands of watches that do not
change.  :class:`OpenWatches` keeps the watches it read with their ``revision`` (raised by
every change of a row, :func:`bot.store.tables.revised`); each read asks the database for
the follow clock and the ids, revisions and clock readings when following began of the
open watches — three numbers a row, which do not move while nothing changes — and reads
whole rows only for new ids and moved revisions.  When those numbers are the ones of the
previous read, nothing is looked at row by row.  The time followed is always the
database's: the clock's reading less the watch's start.

The keeper belongs to one process's poll cycle and is used by one thread at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.watch import Watch
from bot.store import Store
from bot.store.open_rows import OpenRow


@dataclass(frozen=True, slots=True)
class Listing:
    """The open watches as read now, oldest first.

    ``watches`` and ``starts`` are the same objects as the previous read's while nothing
    changed (so a caller can tell by identity, and a read builds nothing per watch)."""

    clock: float  # the follow clock's reading
    watches: Sequence[Watch]  # each as read last (its ``watched_seconds`` may be older)
    starts: Sequence[float]  # the clock's reading when following each began

    def watched(self, index: int) -> float:
        """The time followed now by the watch at ``index``."""
        return max(0.0, self.clock - self.starts[index])

    def positions(self) -> dict[int, int]:
        """Watch id -> index."""
        return {watch.id: index for index, watch in enumerate(self.watches)}


class OpenWatches:
    """A per-process memory of the open watches, kept current by revision."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._known: dict[int, tuple[int, Watch]] = {}
        self._rows: list[OpenRow] | None = None  # the light rows behind the lists below
        self._watches: tuple[Watch, ...] = ()
        self._starts: tuple[float, ...] = ()
        self.rows_read = 0  # whole rows read since the start (for tests and the bench)

    def read(self) -> Listing:
        """Every open watch, oldest first; rows read only where they changed."""
        clock, rows = self._store.open_revisions()
        if rows != self._rows:
            self._rows = None  # until the watches below are all known
            self._refresh(rows)
        return Listing(clock, self._watches, self._starts)

    def _refresh(self, rows: list[OpenRow]) -> None:
        known = self._known
        stale = [i for i, revision, _start in rows if known.get(i, (-1,))[0] != revision]
        if stale:
            for watch_id, (revision, watch) in self._store.watches_by_id(stale).items():
                if watch.state.is_open:  # one that ended meanwhile is not kept
                    known[watch_id] = (revision, watch)
            self.rows_read += len(stale)
        watches: list[Watch] = []
        starts: list[float] = []
        still: dict[int, tuple[int, Watch]] = {}
        for watch_id, revision, start in rows:
            entry = known.get(watch_id)
            if entry is None or entry[0] < revision:
                continue  # deleted or ended between the two queries
            still[watch_id] = entry
            watches.append(entry[1])
            starts.append(start)
        self._known = still  # watches no longer open are forgotten
        self._watches, self._starts = tuple(watches), tuple(starts)
        if len(watches) == len(rows):  # else the next read looks again
            self._rows = rows

    def forget(self) -> None:
        """Read every row again at the next :meth:`read` (e.g. after the database was
        recreated)."""
        self._known.clear()
        self._watches, self._starts = (), ()
        self._rows = None
