"""Completed watches that still wait for their scan's result (``watches.result_wait_until``).

"Scan complete" is told as soon as the console says so; when the console has not written the
scan's result yet, the watch keeps a deadline until which the result is looked for.  Telling
what was found (or that nothing was) clears the deadline in the same transaction that owes
the reply, with a compare-and-set: the result is told once, whoever decides it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Connection

from bot.domain.owed import Owed
from bot.domain.watch import Watch
from bot.store.outbox import enqueue
from bot.store.tables import as_utc, watches
from bot.store.watch_rows import Parsed, select_watches, to_watch


class ResultWaitStore:
    """The result-waits part of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def awaiting_results(self) -> list[Watch]:
        """Finished watches still waiting for their scan's result, oldest first."""
        # Ordered by the indexed column, so that the index answers (read every cycle; a
        # database without statistics otherwise scans every watch for the few waiting).
        query = (
            select_watches()
            .where(watches.c.result_wait_until.is_not(None))
            .order_by(watches.c.result_wait_until, watches.c.id)
        )
        parsed = Parsed()
        with self._read() as connection:
            found = [to_watch(row, parsed) for row in connection.execute(query).mappings()]
        return sorted(found, key=lambda watch: watch.id)

    def result_checked(self, watch_ids: Sequence[int], *, now: datetime) -> None:
        """The console was asked for these watches' result at ``now``."""
        if not watch_ids:
            return
        with self._write() as connection:
            connection.execute(
                watches.update()
                .where(watches.c.id.in_(list(watch_ids)))
                .values(result_checked_at=as_utc(now))
            )

    def settle_result(self, watch_id: int, *, owed: Sequence[Owed], now: datetime) -> bool:
        """Stop waiting for the watch's result and owe ``owed``; False if it was settled."""
        with self._write() as connection:
            result = connection.execute(
                watches.update()
                .where(watches.c.id == watch_id, watches.c.result_wait_until.is_not(None))
                .values(result_wait_until=None, result_checked_at=as_utc(now))
            )
            if result.rowcount == 0:
                return False
            enqueue(connection, owed, now=now)
            return True
