"""Slack request signatures seen recently, in the database so every replica shares them.

A signature is valid only while its timestamp is within Slack's signing window of now, so
a row is kept until then and rows past it are pruned as new ones are recorded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.store.tables import as_utc, seen_requests

#: Rows past their window are deleted at most this often (the table holds the window's
#: signatures and at most this much more).
PRUNE_EVERY = timedelta(seconds=30)


def _insert_new(connection: Connection, rows: dict[str, datetime]) -> set[str]:
    """Insert the signatures of ``rows`` not there yet; the ones inserted."""
    values = [{"signature": s, "expires_at": until} for s, until in rows.items()]
    dialect = connection.dialect
    if dialect.insert_returning and dialect.name in ("sqlite", "postgresql"):
        insert = (sqlite.insert if dialect.name == "sqlite" else postgresql.insert)(seen_requests)
        statement = (
            insert.values(values)
            .on_conflict_do_nothing(index_elements=[seen_requests.c.signature])
            .returning(seen_requests.c.signature)
        )
        return set(connection.execute(statement).scalars())
    # A database that cannot say (SQLite before 3.35): look, then insert the others.
    seen = set(
        connection.execute(
            sa.select(seen_requests.c.signature).where(seen_requests.c.signature.in_(rows))
        ).scalars()
    )
    new = [row for row in values if row["signature"] not in seen]
    if new:
        connection.execute(seen_requests.insert(), new)
    return {str(row["signature"]) for row in new}


class ReplayStore:
    """The replay half of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    _replays_pruned_at: datetime | None = None  # when this process last pruned

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def first_sighting(self, signature: str, *, until: datetime, now: datetime) -> bool:
        """Record ``signature`` as seen until ``until``; False when a replica (or this
        process before a restart) recorded it already and it has not expired."""
        return self.first_sightings([(signature, until)], now=now)[0]

    def first_sightings(
        self, sightings: Sequence[tuple[str, datetime]], *, now: datetime
    ) -> list[bool]:
        """:meth:`first_sighting` of each ``(signature, until)``, in one transaction (a
        signature twice in ``sightings``: its first is the first sighting).

        One statement where the database can say which rows it inserted (``INSERT ... ON
        CONFLICT DO NOTHING RETURNING``): a request thread that waits for the database
        gives up the interpreter lock, and under a burst of requests each time it wants
        it back it waits behind the others, so statements are few.  Expired rows are
        pruned at most every :data:`PRUNE_EVERY`."""
        now = as_utc(now)
        rows: dict[str, datetime] = {}
        for signature, until in sightings:
            rows.setdefault(signature, as_utc(until))
        try:
            with self._write() as connection:
                if self._replays_pruned_at is None or now - self._replays_pruned_at >= PRUNE_EVERY:
                    connection.execute(
                        seen_requests.delete().where(seen_requests.c.expires_at <= now)
                    )
                    self._replays_pruned_at = now
                inserted = _insert_new(connection, rows)
        except IntegrityError:
            # Another replica recorded one of them meanwhile: each on its own, to know which.
            if len(sightings) == 1:
                return [False]
            return [self.first_sighting(s, until=u, now=now) for s, u in sightings]
        firsts: list[bool] = []
        for signature, _ in sightings:
            firsts.append(signature in inserted)
            inserted.discard(signature)  # the same signature again: a replay
        return firsts

    def seen_signatures(self, *, now: datetime) -> list[tuple[str, datetime]]:
        """Every signature still in its window at ``now``, with when it leaves it,
        oldest first."""
        with self._write() as connection:
            rows = connection.execute(
                sa.select(seen_requests.c.signature, seen_requests.c.expires_at)
                .where(seen_requests.c.expires_at > as_utc(now))
                .order_by(seen_requests.c.expires_at)
            ).all()
        return [(str(signature), as_utc(until)) for signature, until in rows]

    def count_seen_requests(self) -> int:
        """Rows kept now (for tests and the operator's curiosity)."""
        with self._write() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(seen_requests)
                ).scalar_one()
            )
