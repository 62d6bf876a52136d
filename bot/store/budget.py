"""Token buckets in the database: one budget of Slack calls for every replica.

Slack's rate limits are per workspace, whichever replica makes the call, so the buckets of
:class:`bot.delivery.budget.SlackBudget` live in the ``slack_budget`` table when several
replicas share the database.  A take is one short write transaction: the rows are locked
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transaction locks the database),
refilled by the time passed on the *database's* clock — the same for every replica, so
no host's clock can give more than the budget — and one token taken from each, or none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.store.tables import slack_budget


class BucketLimit(Protocol):
    """What a bucket needs to know of its limit (:class:`bot.delivery.budget.Limit`)."""

    @property
    def per_second(self) -> float: ...

    @property
    def burst(self) -> float: ...


def database_now(connection: Connection) -> float:
    """The database's clock, in seconds since the epoch."""
    if connection.dialect.name == "postgresql":
        query = sa.text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
    else:
        query = sa.text("SELECT (julianday('now') - 2440587.5) * 86400.0")
    return float(connection.execute(query).scalar_one())


class BudgetStore:
    """The budget half of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def take_tokens(
        self,
        buckets: Sequence[tuple[str, BucketLimit]],
        *,
        now: float | None = None,
        keep: float = 0.0,
    ) -> float:
        """Take one token from each bucket, leaving at least ``keep`` more (never more than
        its burst allows): 0.0, or nothing taken and the seconds until that can be.
        ``now`` (seconds) replaces the database's clock (tests)."""
        try:
            return self._take(buckets, now, keep)
        except IntegrityError:
            return self._take(buckets, now, keep)  # another replica created a bucket meanwhile

    def _take(
        self, buckets: Sequence[tuple[str, BucketLimit]], now: float | None, keep: float
    ) -> float:
        names = [name for name, _limit in buckets]
        with self._write() as connection:
            at = database_now(connection) if now is None else now
            rows = {
                row.bucket: (float(row.tokens), float(row.updated_at))
                for row in connection.execute(
                    sa.select(slack_budget)
                    .where(slack_budget.c.bucket.in_(names))
                    .with_for_update()
                )
            }
            levels = []
            for name, limit in buckets:
                tokens, updated = rows.get(name, (limit.burst, at))
                levels.append(min(limit.burst, tokens + max(0.0, at - updated) * limit.per_second))
            wait = max(
                (
                    (need - level) / limit.per_second
                    for level, (_n, limit) in zip(levels, buckets, strict=True)
                    if level < (need := 1.0 + max(0.0, min(keep, limit.burst - 1.0)))
                ),
                default=0.0,
            )
            if wait > 0:
                return wait
            for level, name in zip(levels, names, strict=True):
                values = {"tokens": level - 1.0, "updated_at": at}
                if name in rows:
                    connection.execute(
                        slack_budget.update().where(slack_budget.c.bucket == name).values(values)
                    )
                else:
                    connection.execute(slack_budget.insert().values(bucket=name, **values))
            return 0.0
