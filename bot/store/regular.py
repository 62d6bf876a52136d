"""Subscriptions to the regular registry scan, and their runs (one per scan and channel).

A *run* is one subscribed channel's thread about one regular scan; its thread key is
``regular:<run id>`` (see :func:`bot.domain.owed.regular_thread`).  The pair
(``scan_key``, ``channel_id``) is unique, so a restart during a scan (or two replicas)
finds the run and its thread instead of opening another.  Like watches, a run's changes and
the messages they owe are stored in one transaction.
"""

from __future__ import annotations

import contextlib
import json
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
from bot.domain.regular import RegularRun, Subscription
from bot.domain.watch import WatchState
from bot.store import codec
from bot.store.outbox import enqueue
from bot.store.tables import as_utc, regular_runs, subscriptions

_log = logging.getLogger(__name__)
_OPEN = (WatchState.PENDING.value, WatchState.ACTIVE.value)


class RegularStore:
    """The subscriptions half of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    # --- subscriptions -----------------------------------------------------------------

    def subscribe(self, channel_id: str, *, by_user: str, source: str, now: datetime) -> bool:
        """Subscribe ``channel_id``; False when it already was."""
        try:
            with self._write() as connection:
                if connection.execute(
                    sa.select(subscriptions.c.channel_id).where(
                        subscriptions.c.channel_id == channel_id
                    )
                ).first():
                    return False
                connection.execute(
                    subscriptions.insert().values(
                        channel_id=channel_id,
                        created_by=by_user,
                        source=source,
                        created_at=as_utc(now),
                    )
                )
        except IntegrityError:
            return False  # subscribed a moment ago by another replica
        return True

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
            return [
                Subscription(r["channel_id"], r["created_by"], r["source"], r["created_at"])
                for r in rows
            ]

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
                        last_snapshot=_dump(snapshot),
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
            "last_snapshot": _dump(snapshot),
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
                    last_snapshot=_dump(snapshot),
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


def _dump(snapshot: ProgressSnapshot) -> str:
    return json.dumps(snapshot.to_dict(), sort_keys=True, separators=(",", ":"))


def _to_run(row: RowMapping) -> RegularRun:
    snapshot = None
    if row["last_snapshot"]:
        try:
            snapshot = ProgressSnapshot.from_dict(json.loads(row["last_snapshot"]))
        except (ValueError, AttributeError, TypeError):
            _log.warning("regular run %s: ignoring unreadable stored snapshot", row["id"])
    try:
        follow = codec.load_follow_state(row["follow_state"])
    except codec.CodecError as error:
        _log.warning("regular run %s: ignoring unreadable follow state (%s)", row["id"], error)
        follow = FollowState()
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
