"""Subscriptions to the regular registry scan, and their runs (one per scan and channel).

A *run* is one subscribed channel's thread about one regular scan; its thread key is
``regular:<run id>`` (see :func:`bot.domain.owed.regular_thread`).  The pair
(``scan_key``, ``channel_id``) is unique, so a restart during a scan (or two replicas)
finds the run and its thread instead of opening another.  Like watches, a run's changes and
the messages they owe are stored in one transaction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from bot.domain.follow_state import FollowState
from bot.domain.owed import Owed
from bot.domain.progress import ProgressSnapshot
from bot.domain.regular import Level, RegularRun, Subscription
from bot.domain.watch import WatchState
from bot.store import codec
from bot.store.outbox import enqueue
from bot.store.tables import as_utc, regular_runs, subscriptions
from bot.store.watch_rows import load_follow, load_snapshot

_log = logging.getLogger(__name__)
_OPEN = (WatchState.PENDING.value, WatchState.ACTIVE.value)


class SubscriptionLimitError(Exception):
    """As many channels are subscribed as ``SCANBOT_MAX_SUBSCRIPTIONS`` allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} channels are subscribed already")
        self.limit = limit


class RegularStore:
    """The subscriptions half of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    # --- subscriptions -----------------------------------------------------------------

    def subscribe(
        self,
        channel_id: str,
        *,
        by_user: str,
        source: str,
        now: datetime,
        level: Level | None = None,
        mention: str | None = None,
        limit: int | None = None,
    ) -> bool:
        """Subscribe ``channel_id``; False when it already was.

        An existing subscription takes the ``level`` and ``mention`` given (None keeps what
        it has; ``mention=""`` removes it); a new one gets them, ``normal`` and nobody by
        default.  With ``limit``, raises :class:`SubscriptionLimitError` when that many
        channels are subscribed already.
        """
        changes: dict[str, Any] = {}
        if level is not None:
            changes["level"] = level.value
        if mention is not None:
            changes["mention"] = mention or None
        where = subscriptions.c.channel_id == channel_id
        try:
            with self._write() as connection:
                if connection.execute(sa.select(subscriptions.c.channel_id).where(where)).first():
                    if changes:
                        connection.execute(subscriptions.update().where(where).values(changes))
                    return False
                if limit is not None:
                    count = connection.execute(
                        sa.select(sa.func.count()).select_from(subscriptions)
                    ).scalar_one()
                    if count >= limit:
                        raise SubscriptionLimitError(limit)
                connection.execute(
                    subscriptions.insert().values(
                        channel_id=channel_id,
                        created_by=by_user,
                        source=source,
                        created_at=as_utc(now),
                        **{"level": Level.NORMAL.value, **changes},
                    )
                )
        except IntegrityError:
            return False  # subscribed a moment ago by another replica
        return True

    def subscription(self, channel_id: str) -> Subscription | None:
        """The channel's subscription, or None."""
        where = subscriptions.c.channel_id == channel_id
        with self._read() as connection:
            row = connection.execute(subscriptions.select().where(where)).mappings().first()
        return None if row is None else _to_subscription(row)

    def snooze(self, channel_id: str, *, until: datetime | None, by_user: str) -> bool:
        """Snooze the channel's subscription until ``until`` (None: end the snooze);
        False when the channel is not subscribed."""
        values = {
            "snoozed_until": None if until is None else as_utc(until),
            "snoozed_by": by_user if until is not None else None,
        }
        with self._write() as connection:
            result = connection.execute(
                subscriptions.update()
                .where(subscriptions.c.channel_id == channel_id)
                .values(values)
            )
            return bool(result.rowcount)

    def unsubscribe(
        self, channel_id: str, *, now: datetime, owe: Callable[[RegularRun], Sequence[Owed]]
    ) -> bool:
        """Unsubscribe ``channel_id`` and end its open runs (owing ``owe(run)`` for each)."""
        now = as_utc(now)
        with self._write() as connection:
            removed = connection.execute(
                subscriptions.delete().where(subscriptions.c.channel_id == channel_id)
            )
            open_runs = connection.execute(
                regular_runs.select().where(
                    regular_runs.c.channel_id == channel_id, regular_runs.c.state.in_(_OPEN)
                )
            ).mappings()
            for run in [_to_run(row) for row in open_runs]:
                connection.execute(
                    regular_runs.update()
                    .where(regular_runs.c.id == run.id)
                    .values(state=WatchState.STOPPED.value, finished_at=now, updated_at=now)
                )
                enqueue(connection, owe(run), now=now)
            return bool(removed.rowcount)

    def subscriptions(self) -> list[Subscription]:
        with self._read() as connection:
            rows = connection.execute(
                subscriptions.select().order_by(subscriptions.c.created_at)
            ).mappings()
            return [_to_subscription(row) for row in rows]

    # --- runs ------------------------------------------------------------------------------

    def last_regular_completion(self) -> datetime | None:
        """When the latest regular scan a subscribed channel followed completed (metrics)."""
        query = sa.select(sa.func.max(regular_runs.c.finished_at)).where(
            regular_runs.c.state == WatchState.COMPLETED.value
        )
        with self._read() as connection:
            value: datetime | None = connection.execute(query).scalar_one_or_none()
        return None if value is None else as_utc(value)  # max() keeps the column's type

    def open_runs(self) -> list[RegularRun]:
        query = regular_runs.select().where(regular_runs.c.state.in_(_OPEN))
        with self._read() as connection:
            return [_to_run(row) for row in connection.execute(query.order_by("id")).mappings()]

    def create_run(
        self,
        *,
        scan_key: str,
        channel_id: str,
        snapshot: ProgressSnapshot,
        follow: FollowState,
        now: datetime,
        owe: Callable[[RegularRun], Sequence[Owed]],
    ) -> tuple[RegularRun, bool]:
        """The channel's run of this scan, created (with the messages it owes) if new."""
        now = as_utc(now)
        where = sa.and_(
            regular_runs.c.scan_key == scan_key, regular_runs.c.channel_id == channel_id
        )
        try:
            with self._write() as connection:
                row = connection.execute(regular_runs.select().where(where)).mappings().first()
                if row is not None:
                    return _to_run(row), False
                connection.execute(
                    regular_runs.insert().values(
                        scan_key=scan_key,
                        channel_id=channel_id,
                        state=WatchState.ACTIVE.value,
                        last_snapshot=codec.dump_snapshot(snapshot),
                        follow_state=codec.dumps(follow),
                        created_at=now,
                        updated_at=now,
                    )
                )
                run = _to_run(
                    connection.execute(regular_runs.select().where(where)).mappings().one()
                )
                enqueue(connection, owe(run), now=now)
                return run, True
        except IntegrityError:
            with self._read() as connection:
                row = connection.execute(regular_runs.select().where(where)).mappings().one()
            return _to_run(row), False

    def update_run(
        self,
        run_id: int,
        *,
        snapshot: ProgressSnapshot,
        follow: FollowState,
        thread_posted_at: datetime | None,
        now: datetime,
        owed: Sequence[Owed] = (),
    ) -> bool:
        """Keep an open run's latest snapshot and follow state; False if it ended meanwhile."""
        values: dict[str, Any] = {
            "last_snapshot": codec.dump_snapshot(snapshot),
            "follow_state": codec.dumps(follow),
            "updated_at": as_utc(now),
        }
        if thread_posted_at is not None:
            values["last_thread_post_at"] = as_utc(thread_posted_at)
        with self._write() as connection:
            result = connection.execute(
                regular_runs.update()
                .where(regular_runs.c.id == run_id, regular_runs.c.state.in_(_OPEN))
                .values(values)
            )
            if not result.rowcount:
                return False
            enqueue(connection, owed, now=now)
            return True

    def finish_run(
        self,
        run_id: int,
        *,
        state: WatchState,
        snapshot: ProgressSnapshot,
        now: datetime,
        owe: Callable[[RegularRun], Sequence[Owed]],
    ) -> bool:
        """End an open run (once: compare-and-set) and store its final messages with it."""
        now = as_utc(now)
        with self._write() as connection:
            result = connection.execute(
                regular_runs.update()
                .where(regular_runs.c.id == run_id, regular_runs.c.state.in_(_OPEN))
                .values(
                    state=state.value,
                    last_snapshot=codec.dump_snapshot(snapshot),
                    finished_at=now,
                    updated_at=now,
                )
            )
            if not result.rowcount:
                return False
            row = connection.execute(
                regular_runs.select().where(regular_runs.c.id == run_id)
            ).mappings()
            enqueue(connection, owe(_to_run(row.one())), now=now)
            return True


def _to_subscription(row: RowMapping) -> Subscription:
    try:
        level = Level(row["level"])
    except ValueError:
        level = Level.NORMAL
    return Subscription(
        row["channel_id"],
        row["created_by"],
        row["source"],
        row["created_at"],
        level=level,
        mention=row["mention"] or "",
        snoozed_until=row["snoozed_until"],
        snoozed_by=row["snoozed_by"] or "",
    )


def _to_run(row: RowMapping) -> RegularRun:
    owner = f"regular run {row['id']}"
    snapshot = load_snapshot(row["last_snapshot"], owner)
    follow = load_follow(row["follow_state"], owner)
    return RegularRun(
        id=row["id"],
        scan_key=row["scan_key"],
        channel_id=row["channel_id"],
        state=WatchState(row["state"]),
        created_at=row["created_at"],
        last_snapshot=snapshot,
        last_thread_post_at=row["last_thread_post_at"],
        follow=follow,
    )
