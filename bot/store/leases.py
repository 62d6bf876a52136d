"""Named leases in the ``locks`` table: one poller at a time, one deliverer per thread.

A lease is taken, renewed or taken over in **one statement** (an ``INSERT … ON CONFLICT DO
UPDATE … WHERE`` that returns the row only when this owner got it), and the times in that
statement come from the **database's clock** (``clock_timestamp()`` on PostgreSQL, ``'now'``
on SQLite, read when the statement runs, after any competing claim has committed),
never from the calling process: replicas whose clocks disagree still agree on who holds a
lease, because only one clock decides.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.store.tables import locks

# SQLAlchemy stores SQLite timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here); SQLite's
# own clock gives milliseconds, padded to the same width so the strings compare as times.
_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%f"


def database_now(dialect: str, *, plus: timedelta = timedelta(0)) -> sa.ColumnElement[Any]:
    """The database's current time (plus ``plus``) as an SQL expression comparable with
    ``locks.expires_at`` on ``dialect`` (``postgresql`` or ``sqlite``)."""
    seconds = plus.total_seconds()
    if dialect == "sqlite":
        clock = sa.func.strftime(_SQLITE_FORMAT, "now", f"{seconds:+.3f} seconds")
        return sa.type_coerce(clock.op("||")("000"), sa.Text)
    if dialect == "postgresql":
        # clock_timestamp(), not now(): now() is when the *transaction* began, and a claim
        # that waited on the row lock of another claim would judge that claim's fresh lease
        # by a time before it was taken — and take it over.
        return sa.func.clock_timestamp() + sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    raise NotImplementedError(f"leases on the database clock are not written for {dialect}")


class LeaseStore:
    """The lease half of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def try_lock(
        self, name: str, *, owner: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """Take or renew the lease ``name`` for ``ttl``; False if another owner holds it.

        The lease is free when nobody has it or it expired; the owner renews its own.  A
        lease that claims to last longer than ``ttl`` from now can only come from a clock
        that was stepped back since it was taken: it counts as expired, so polling never
        waits for the clock to catch up.  "Now" is the database's clock, read in the same
        statement that decides; ``now`` (the caller's clock) is accepted for compatibility
        and plays no part in the decision.
        """
        del now  # the database's clock decides; see the docstring
        if ttl <= timedelta(0):
            raise ValueError("a lease needs a positive ttl")
        with self._write() as connection:
            dialect = connection.dialect.name
            current = database_now(dialect)
            expires_at = database_now(dialect, plus=ttl)
            insert: Any = (postgresql if dialect == "postgresql" else sqlite).insert(locks)
            statement = (
                insert.values(name=name, owner=owner, expires_at=expires_at)
                .on_conflict_do_update(
                    index_elements=[locks.c.name],
                    set_={"owner": insert.excluded.owner, "expires_at": insert.excluded.expires_at},
                    where=sa.or_(
                        locks.c.owner == owner,
                        locks.c.expires_at <= current,
                        locks.c.expires_at > expires_at,
                    ),
                )
                .returning(locks.c.owner)
            )
            return connection.execute(statement).first() is not None

    def _claim(self, name: str, *, owner: str, ttl: timedelta, now: datetime) -> bool:
        return self.try_lock(name, owner=owner, ttl=ttl, now=now)

    def _release(self, name: str, *, owner: str) -> None:
        self.release_lock(name, owner=owner)

    def release_lock(self, name: str, *, owner: str) -> None:
        """Give up the lease ``name`` if ``owner`` holds it; otherwise do nothing."""
        with self._write() as connection:
            connection.execute(locks.delete().where(locks.c.name == name, locks.c.owner == owner))
