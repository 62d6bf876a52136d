"""The outbox: messages owed to Slack, stored with the state change that owes them.

:func:`enqueue` runs inside a caller's write transaction (a watch finishing, a scan
progressing), so the state change and the message it owes commit together or not at all.
Each message has a unique ``key``: owing the same message twice (a decision repeated after
a crash, two racing callers) stores it once.

The sender (:mod:`bot.delivery.sender`) reads due messages thread by thread, in order,
claims a thread with a short lease so that one process at a time delivers it (replicas
share the table), records each attempt before it is made, and clears a message only once
Slack accepted it.  Thread owners — a watch today — hear about their parent message being
posted or their channel being gone through :func:`_owner_posted` / :func:`_owner_gone`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.domain.owed import FINAL_PRIORITY, NORMAL_PRIORITY, Kind, Owed
from bot.domain.watch import WatchState
from bot.store import codec
from bot.store.tables import as_utc, outbox, regular_runs, revised, threads, watches


class EntryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    key: str
    thread_key: str
    kind: Kind
    body: str  # JSON, see bot.store.codec
    priority: int
    attempts: int
    next_attempt_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Thread:
    key: str
    channel_id: str
    parent_ts: str | None


@dataclass(frozen=True, slots=True)
class DueThread:
    """A thread with a message due: ``urgent`` when one of them is a thread's end (a
    final message) or its parent (the answer to a command), not only progress."""

    key: str
    channel_id: str
    urgent: bool


def enqueue(connection: Connection, owed: Sequence[Owed], *, now: datetime) -> int:
    """Store ``owed`` messages (skipping keys already stored); returns how many were new."""
    now = as_utc(now)
    added = 0
    for message in owed:
        if connection.execute(sa.select(outbox.c.id).where(outbox.c.key == message.key)).first():
            continue
        if (
            message.kind is Kind.EDIT
            and message.priority == NORMAL_PRIORITY
            and _merged_into_pending_edit(connection, message)
        ):
            continue
        if not connection.execute(
            sa.select(threads.c.key).where(threads.c.key == message.thread_key)
        ).first():
            connection.execute(
                threads.insert().values(
                    key=message.thread_key, channel_id=message.channel_id, created_at=now
                )
            )
        connection.execute(
            outbox.insert().values(
                key=message.key,
                thread_key=message.thread_key,
                kind=message.kind.value,
                body=codec.dumps(message.body),
                priority=message.priority,
                state=EntryState.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        added += 1
    return added


def _merged_into_pending_edit(connection: Connection, message: Owed) -> bool:
    """A newer state of a parent whose last edit is still unsent replaces that edit's body.

    The edit keeps its place (its id: how long the parent has been stale), so the sender
    refreshes the parent stale the longest first and sends only its latest state.  An edit
    already attempted is left alone (it may be in flight); the new one is owed after it.
    """
    merged = connection.execute(
        outbox.update()
        .where(
            outbox.c.thread_key == message.thread_key,
            outbox.c.kind == Kind.EDIT.value,
            outbox.c.state == EntryState.PENDING.value,
            outbox.c.priority == NORMAL_PRIORITY,
            outbox.c.attempts == 0,
        )
        .values(body=codec.dumps(message.body))
    )
    return bool(merged.rowcount)


class OutboxStore:
    """The outbox half of :class:`bot.store.Store` (mixed in; uses its transactions)."""

    def _write(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Connection]:
        raise NotImplementedError

    def owe(self, owed: Sequence[Owed], *, now: datetime) -> int:
        """Store ``owed`` in a transaction of its own; returns how many were new."""
        with self._write() as connection:
            return enqueue(connection, owed, now=now)

    def due_threads(
        self,
        *,
        now: datetime,
        limit: int = 100,
        kinds: Sequence[Kind] | None = None,
        exclude_channels: Collection[str] = (),
        ends_only_in: Collection[str] = (),
    ) -> list[DueThread]:
        """Threads with a message (of ``kinds``, if given) due now, not in
        ``exclude_channels``, and in ``ends_only_in`` only with a final message or a parent
        due: final messages first, then the one whose oldest due message was owed first."""
        conditions = [
            outbox.c.state == EntryState.PENDING.value,
            outbox.c.next_attempt_at <= as_utc(now),
        ]
        if kinds is not None:
            conditions.append(outbox.c.kind.in_([kind.value for kind in kinds]))
        if exclude_channels:
            conditions.append(threads.c.channel_id.not_in(sorted(exclude_channels)))
        end_or_parent = sa.or_(
            outbox.c.priority == FINAL_PRIORITY, outbox.c.kind == Kind.PARENT.value
        )
        routine = sa.func.min(sa.case((end_or_parent, 0), else_=1))
        query = (
            sa.select(outbox.c.thread_key, threads.c.channel_id, routine)
            .join(threads, threads.c.key == outbox.c.thread_key)
            .where(*conditions)
            .group_by(outbox.c.thread_key, threads.c.channel_id)
            .order_by(sa.func.min(outbox.c.priority), sa.func.min(outbox.c.id))
            .limit(limit)
        )
        if ends_only_in:
            query = query.having(
                sa.or_(threads.c.channel_id.not_in(sorted(ends_only_in)), routine == 0)
            )
        with self._read() as connection:
            return [
                DueThread(key=str(key), channel_id=str(channel), urgent=not only_routine)
                for key, channel, only_routine in connection.execute(query)
            ]

    def thread(self, key: str) -> Thread | None:
        with self._read() as connection:
            row = connection.execute(threads.select().where(threads.c.key == key)).first()
        if row is None:
            return None
        return Thread(key=row.key, channel_id=row.channel_id, parent_ts=row.parent_ts)

    def pending(self, thread_key: str) -> list[OutboxEntry]:
        """The thread's pending messages in the order they were owed."""
        query = (
            outbox.select()
            .where(outbox.c.thread_key == thread_key, outbox.c.state == EntryState.PENDING.value)
            .order_by(outbox.c.id)
        )
        with self._read() as connection:
            return [_entry(row) for row in connection.execute(query).mappings()]

    def start_attempt(self, entry_id: int) -> int:
        """Record that a send is about to be tried (before it is); returns the attempt number.

        An entry with attempts > 0 may have reached Slack already: before sending it again
        the sender looks for it.
        """
        with self._write() as connection:
            connection.execute(
                outbox.update()
                .where(outbox.c.id == entry_id)
                .values(attempts=outbox.c.attempts + 1)
            )
            return int(
                connection.execute(
                    sa.select(outbox.c.attempts).where(outbox.c.id == entry_id)
                ).scalar_one()
            )

    def entry_body(self, entry_id: int) -> str | None:
        """The body of a pending message as stored now (an edit's may have been replaced by
        a newer state since it was read)."""
        with self._read() as connection:
            body = connection.execute(
                sa.select(outbox.c.body).where(
                    outbox.c.id == entry_id, outbox.c.state == EntryState.PENDING.value
                )
            ).scalar()
        return None if body is None else str(body)

    def mark_sent(self, entry: OutboxEntry, *, ts: str | None, now: datetime) -> None:
        """Slack accepted ``entry``; a parent's ``ts`` opens its thread and activates its owner."""
        now = as_utc(now)
        with self._write() as connection:
            connection.execute(
                outbox.update()
                .where(outbox.c.id == entry.id)
                .values(state=EntryState.SENT.value, sent_at=now, sent_ts=ts, last_error=None)
            )
            if entry.kind is Kind.PARENT and ts is not None:
                connection.execute(
                    threads.update().where(threads.c.key == entry.thread_key).values(parent_ts=ts)
                )
                _owner_posted(connection, entry.thread_key, ts, now)

    def retry_now(self, *, now: datetime) -> int:
        """Make every pending message due now (the transport recovered); returns how many."""
        with self._write() as connection:
            result = connection.execute(
                outbox.update()
                .where(
                    outbox.c.state == EntryState.PENDING.value,
                    outbox.c.next_attempt_at > as_utc(now),
                )
                .values(next_attempt_at=as_utc(now))
            )
            return int(result.rowcount or 0)

    def retry_later(self, entry_id: int, *, at: datetime, error: str) -> None:
        with self._write() as connection:
            connection.execute(
                outbox.update()
                .where(outbox.c.id == entry_id)
                .values(next_attempt_at=as_utc(at), last_error=error[:500])
            )

    def drop(self, entry_ids: Sequence[int], *, error: str) -> None:
        """Give up on these messages (superseded edits, content Slack will never take)."""
        if not entry_ids:
            return
        with self._write() as connection:
            connection.execute(
                outbox.update()
                .where(outbox.c.id.in_(list(entry_ids)), outbox.c.state == EntryState.PENDING.value)
                .values(state=EntryState.DROPPED.value, last_error=error[:500])
            )

    def close_thread(self, thread_key: str, *, error: str, now: datetime) -> int:
        """The thread can no longer be posted in: drop what it still owes, fail its owner."""
        with self._write() as connection:
            result = connection.execute(
                outbox.update()
                .where(
                    outbox.c.thread_key == thread_key,
                    outbox.c.state == EntryState.PENDING.value,
                )
                .values(state=EntryState.DROPPED.value, last_error=error[:500])
            )
            _owner_gone(connection, thread_key, as_utc(now))
            return int(result.rowcount or 0)

    def claim_thread(self, thread_key: str, *, owner: str, ttl: timedelta, now: datetime) -> bool:
        """Take the thread's delivery lease (one deliverer per thread across replicas)."""
        return self._claim(f"thread:{thread_key}", owner=owner, ttl=ttl, now=now)

    def release_thread(self, thread_key: str, *, owner: str) -> None:
        self._release(f"thread:{thread_key}", owner=owner)

    def outbox_backlog(self, *, now: datetime) -> tuple[int, float]:
        """(pending messages, age in seconds of the oldest) — for health and metrics."""
        query = sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
            outbox.c.state == EntryState.PENDING.value
        )
        with self._read() as connection:
            count, oldest = connection.execute(query).one()
        if not count or oldest is None:
            return 0, 0.0
        return int(count), max(0.0, (as_utc(now) - as_utc(oldest)).total_seconds())

    def prune_outbox(self, *, created_before: datetime) -> int:
        """Delete delivered or dropped messages owed before ``created_before``; pending stay."""
        with self._write() as connection:
            result = connection.execute(
                outbox.delete().where(
                    outbox.c.state != EntryState.PENDING.value,
                    outbox.c.created_at < as_utc(created_before),
                )
            )
            return int(result.rowcount or 0)

    # Leases come from the Store (bot.store.watches); declared here for the type checker.
    def _claim(self, name: str, *, owner: str, ttl: timedelta, now: datetime) -> bool:
        raise NotImplementedError

    def _release(self, name: str, *, owner: str) -> None:
        raise NotImplementedError


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"],
        key=row["key"],
        thread_key=row["thread_key"],
        kind=Kind(row["kind"]),
        body=row["body"],
        priority=row["priority"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
    )


# --- thread owners ----------------------------------------------------------------------
# A thread key names its owner: ``watch:<id>`` or ``regular:<run id>`` (a subscribed
# channel's thread about one regular scan).  Add a case here for a new kind of owner.


def _owner_posted(connection: Connection, thread_key: str, ts: str, now: datetime) -> None:
    """The owner's parent message was posted: a PENDING watch becomes ACTIVE with its ts."""
    kind, _, ident = thread_key.partition(":")
    if kind == "watch" and ident.isdigit():
        connection.execute(
            watches.update()
            .where(watches.c.id == int(ident), watches.c.parent_ts.is_(None))
            .values(revised({"parent_ts": ts, "updated_at": now}))
        )
        connection.execute(
            watches.update()
            .where(watches.c.id == int(ident), watches.c.state == WatchState.PENDING.value)
            .values(revised({"state": WatchState.ACTIVE.value, "updated_at": now}))
        )
    elif kind == "regular" and ident.isdigit():
        connection.execute(
            regular_runs.update()
            .where(regular_runs.c.id == int(ident), regular_runs.c.parent_ts.is_(None))
            .values(parent_ts=ts, updated_at=now)
        )


def _owner_gone(connection: Connection, thread_key: str, now: datetime) -> None:
    """The owner's channel or parent is gone: an open watch ends as FAILED."""
    kind, _, ident = thread_key.partition(":")
    if kind == "watch" and ident.isdigit():
        connection.execute(
            watches.update()
            .where(
                watches.c.id == int(ident),
                watches.c.state.in_([WatchState.PENDING.value, WatchState.ACTIVE.value]),
            )
            .values(
                revised(
                    {
                        "state": WatchState.FAILED.value,
                        "open_key": None,
                        "finished_at": now,
                        "updated_at": now,
                    }
                )
            )
        )
    elif kind == "regular" and ident.isdigit():
        connection.execute(
            regular_runs.update()
            .where(
                regular_runs.c.id == int(ident),
                regular_runs.c.state.in_([WatchState.PENDING.value, WatchState.ACTIVE.value]),
            )
            .values(state=WatchState.FAILED.value, finished_at=now, updated_at=now)
        )
