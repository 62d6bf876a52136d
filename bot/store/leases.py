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
import functools
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.store.tables import locks

# SQLAlchemy stores SQLite timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here); SQLite's
# own clock gives milliseconds, padded to the same width so the strings compare as times.
_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%f"


def database_now(
    dialect: str, *, plus: sa.BindParameter[Any] | None = None
) -> sa.ColumnElement[Any]:
    """The database's current time as an SQL expression comparable with
    ``locks.expires_at`` on ``dialect`` (``postgresql`` or ``sqlite``); with ``plus``,
    later by the seconds bound to it (:func:`_plus_value` gives the value)."""
    if dialect == "sqlite":
        modifier = plus if plus is not None else "+0.000 seconds"
        clock = sa.func.strftime(_SQLITE_FORMAT, "now", modifier)
        return sa.type_coerce(clock.op("||")("000"), sa.Text)
    if dialect == "postgresql":
        # clock_timestamp(), not now(): now() is when the *transaction* began, and a claim
        # that waited on the row lock of another claim would judge that claim's fresh lease
        # by a time before it was taken — and take it over.
        if plus is None:
            return sa.func.clock_timestamp()
        return sa.func.clock_timestamp() + sa.func.make_interval(0, 0, 0, 0, 0, 0, plus)
    raise NotImplementedError(f"leases on the database clock are not written for {dialect}")


def _plus_value(dialect: str, ttl: timedelta) -> object:
    """The value of :func:`database_now`'s ``plus`` for ``ttl`` on ``dialect``."""
    seconds = ttl.total_seconds()
    return f"{seconds:+.3f} seconds" if dialect == "sqlite" else seconds


@functools.cache
def _claim_statement(dialect: str) -> Any:
    """The one statement that takes, renews or takes over a lease on ``dialect``, built
    once (a statement built per call leaves its objects in reference cycles for the
    collector): ``lease_name``, ``lease_owner`` and ``lease_plus`` are bound when it runs."""
    owner = sa.bindparam("lease_owner", type_=sa.String)
    plus = sa.bindparam("lease_plus", type_=sa.Text if dialect == "sqlite" else sa.Float)
    current = database_now(dialect)
    expires_at = database_now(dialect, plus=plus)
    insert: Any = (postgresql if dialect == "postgresql" else sqlite).insert(locks)
    return (
        insert.values(
            name=sa.bindparam("lease_name", type_=sa.String), owner=owner, expires_at=expires_at
        )
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
            values = {
                "lease_name": name,
                "lease_owner": owner,
                "lease_plus": _plus_value(dialect, ttl),
            }
            return connection.execute(_claim_statement(dialect), values).first() is not None

    def _claim(self, name: str, *, owner: str, ttl: timedelta, now: datetime) -> bool:
        return self.try_lock(name, owner=owner, ttl=ttl, now=now)

    def _release(self, name: str, *, owner: str) -> None:
        self.release_lock(name, owner=owner)

    def release_lock(self, name: str, *, owner: str) -> None:
        """Give up the lease ``name`` if ``owner`` holds it; otherwise do nothing."""
        with self._write() as connection:
            connection.execute(locks.delete().where(locks.c.name == name, locks.c.owner == owner))
