"""Named leases in the ``locks`` table: one poller at a time, one deliverer per thread.

A lease is taken with a conditional ``UPDATE`` or an ``INSERT`` that the primary key
refuses to a second owner, so it holds across replicas sharing the database.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.store.tables import as_utc, locks


class LeaseStore:
    """The lease half of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def try_lock(self, name: str, *, owner: str, ttl: timedelta, now: datetime) -> bool:
        """Take or renew the lease ``name`` until ``now + ttl``; False if another owner holds it.

        The lease is free when nobody has it or it expired; the owner renews its own.  A
        lease that claims to last longer than ``ttl`` from ``now`` can only come from a
        clock that was stepped back since it was taken: it counts as expired, so polling
        never waits for the wall clock to catch up.
        """
        if ttl <= timedelta(0):
            raise ValueError("a lease needs a positive ttl")
        now = as_utc(now)
        expires_at = now + ttl
        with self._write() as connection:
            renewed = connection.execute(
                locks.update()
                .where(
                    locks.c.name == name,
                    sa.or_(
                        locks.c.owner == owner,
                        locks.c.expires_at <= now,
                        locks.c.expires_at > expires_at,
                    ),
                )
                .values(owner=owner, expires_at=expires_at)
            )
            if renewed.rowcount == 1:
                return True
        try:
            with self._write() as connection:
                connection.execute(
                    locks.insert().values(name=name, owner=owner, expires_at=expires_at)
                )
        except IntegrityError:
            return False  # the row exists: another owner holds an unexpired lease
        return True

    def _claim(self, name: str, *, owner: str, ttl: timedelta, now: datetime) -> bool:
        return self.try_lock(name, owner=owner, ttl=ttl, now=now)

    def _release(self, name: str, *, owner: str) -> None:
        self.release_lock(name, owner=owner)

    def release_lock(self, name: str, *, owner: str) -> None:
        """Give up the lease ``name`` if ``owner`` holds it; otherwise do nothing."""
        with self._write() as connection:
            connection.execute(locks.delete().where(locks.c.name == name, locks.c.owner == owner))
