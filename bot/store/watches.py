"""The store: watches and named leases in SQLite or PostgreSQL.

Every method runs one short transaction and commits before it returns, so a crash loses
nothing that a caller was told had happened.  Invariants that matter when several replicas
share one database are enforced by the database itself:

* at most one open watch per channel and image — a unique ``open_key`` column that is
  ``"{channel_id}|{target_key}"`` while the watch is open and NULL once it is finished;
* a watch is finished once — the ``UPDATE`` only matches an open state (compare-and-set);
* one poller at a time — a lease row in ``locks`` taken with a conditional ``UPDATE`` or an
  ``INSERT`` that the primary key refuses to a second owner.

Times are always passed in by the caller (``now``) and must be timezone-aware.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.domain.follow_state import FollowState
from bot.domain.images import ScanTarget
from bot.domain.owed import Owed
from bot.domain.progress import ProgressSnapshot
from bot.domain.watch import Watch, WatchState
from bot.store import codec, db
from bot.store.alerts import AlertStore
from bot.store.budget import BudgetStore
from bot.store.codec import dump_snapshot
from bot.store.digest import DigestStore
from bot.store.leases import LeaseStore
from bot.store.open_rows import OpenRowStore
from bot.store.outbox import OutboxStore, enqueue
from bot.store.regular import RegularStore
from bot.store.replays import ReplayStore
from bot.store.result_waits import ResultWaitStore
from bot.store.sqlite_file import SqliteFile
from bot.store.tables import FOLLOW_CLOCK_ID, as_utc, follow_clock, revised, watches
from bot.store.watch_rows import (
    OPEN_STATES,
    Parsed,
    follow_clock_now,
    is_open,
    select_watches,
    to_watch,
)

_log = logging.getLogger(__name__)

_CREATE_ATTEMPTS = 5


class WatchNotFoundError(LookupError):
    """No watch has the given id."""


def open_key(channel_id: str, target_key: str) -> str:
    """The value of ``watches.open_key`` while a watch of this channel and image is open."""
    return f"{channel_id}|{target_key}"


class Store(
    LeaseStore,
    OpenRowStore,
    OutboxStore,
    DigestStore,
    RegularStore,
    ReplayStore,
    ResultWaitStore,
    AlertStore,
    BudgetStore,
):
    """Persistence of watches, leases and the outbox; thread-safe, one transaction per call.

    Methods that change a watch take the messages that change owes (``owed``) and store
    them in the same transaction (see :mod:`bot.store.outbox`).
    """

    def __init__(self, database_url: str, *, echo: bool = False) -> None:
        self._engine = db.make_engine(database_url, echo=echo)
        self._writer = db.immediate(self._engine)
        # An in-memory SQLite database is one shared connection: take turns using it.
        self._turns: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if db.is_memory_sqlite(self._engine.url) else contextlib.nullcontext()
        )
        path = self.sqlite_file()
        # A SQLite file has one writer at a time.  Writers of this process queue on a lock
        # instead of on SQLite's busy handler, which sleeps (1, 2, 5 ... 100 ms) and
        # retries: twenty requests writing at once would otherwise wait up to a second.
        self._writers: contextlib.AbstractContextManager[Any] = (
            db.WriterTurns() if path is not None else contextlib.nullcontext()
        )
        self._file = SqliteFile(path) if path is not None else None
        if self._file is not None:
            file = self._file
            sa.event.listen(self._engine, "do_connect", lambda *_: file.create_private())

    def __repr__(self) -> str:
        return f"Store({self._engine.url.render_as_string(hide_password=True)!r})"

    # --- lifecycle --------------------------------------------------------------------

    def migrate(self) -> None:
        """Create the schema or upgrade it to the latest revision (idempotent)."""
        with self._turns:
            db.migrate(self._engine)
        if self._file is not None:
            self._file.remember()  # the pool holds connections now: -wal and -shm exist

    def file_problem(self) -> str | None:
        """For a SQLite file: what happened to the files opened (deleted, replaced), or
        None while the path still names them.  Always None for other databases."""
        return self._file.problem() if self._file is not None else None

    def reopen(self) -> None:
        """Close every pooled connection, then open the database again and migrate it:
        after the SQLite file was deleted, this creates an empty one at its path."""
        with self._turns:
            self._engine.dispose()
        self.migrate()

    def ping(self) -> bool:
        """True when the database answers ``SELECT 1``; False, never an exception, otherwise."""
        with self._turns:
            return db.ping(self._engine)

    def one_process(self) -> bool:
        """True for SQLite: one process uses the database (replicas need PostgreSQL)."""
        return self._engine.url.get_backend_name() == "sqlite"

    def sqlite_file(self) -> Path | None:
        """The database file when this is a file-backed SQLite database, else None."""
        url = self._engine.url
        if url.get_backend_name() != "sqlite" or db.is_memory_sqlite(url) or not url.database:
            return None
        return Path(url.database)

    def close(self) -> None:
        """Close every pooled connection."""
        with self._turns:
            self._engine.dispose()

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._turns, self._engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._turns, self._writers, self._writer.begin() as connection:
            yield connection

    # --- watches ----------------------------------------------------------------------

    def create_watch(
        self,
        *,
        target: ScanTarget,
        channel_id: str,
        requester_id: str,
        now: datetime,
        snapshot: ProgressSnapshot | None = None,
        owe: Callable[[Watch], Sequence[Owed]] | None = None,
        follow: FollowState | None = None,
    ) -> tuple[Watch, bool]:
        """A new PENDING watch, or the channel's open watch of the same image.

        Returns ``(watch, created)``; ``created`` is False when an open watch already
        existed (also when another replica created it a moment earlier).  A new watch
        starts with ``snapshot`` (seen running), and the messages ``owe(watch)`` returns are
        stored in the same transaction.
        """
        now = as_utc(now)
        key = open_key(channel_id, target.key)
        values = {
            "repo": target.repo,
            "tag": target.tag,
            "digest": target.digest,
            "registry": target.registry,
            "target_key": target.key,
            "channel_id": channel_id,
            "requester_id": requester_id,
            "state": WatchState.PENDING.value,
            "open_key": key,
            "saw_running": snapshot is not None,
            "last_snapshot": None if snapshot is None else dump_snapshot(snapshot),
            "follow_state": None if follow is None else codec.dumps(follow),
            "created_at": now,
            "updated_at": now,
            "followed_from": follow_clock_now(),
        }
        for _attempt in range(_CREATE_ATTEMPTS):
            try:
                with self._write() as connection:
                    existing = _select_one(connection, watches.c.open_key == key)
                    if existing is not None:
                        return existing, False
                    result = connection.execute(watches.insert().values(values))
                    primary_key = result.inserted_primary_key
                    assert primary_key is not None
                    created = _require(connection, int(primary_key[0]))
                    if owe is not None:
                        enqueue(connection, owe(created), now=now)
                    return created, True
            except IntegrityError:
                # Another replica inserted the same open_key between our SELECT and INSERT;
                # the next attempt finds its watch (or, if already finished, creates anew).
                _log.debug("open watch %s created concurrently; reading it", key)
        raise RuntimeError(f"could not create or find the open watch {key}")

    def activate(self, watch_id: int, *, parent_ts: str, now: datetime) -> Watch:
        """PENDING -> ACTIVE with the parent message's ``ts``.

        A watch that is no longer PENDING (already active, or stopped meanwhile) is
        returned unchanged, so the caller can see its state.
        """
        with self._write() as connection:
            connection.execute(
                watches.update()
                .where(watches.c.id == watch_id, watches.c.state == WatchState.PENDING.value)
                .values(
                    revised(
                        {
                            "state": WatchState.ACTIVE.value,
                            "parent_ts": parent_ts,
                            "updated_at": as_utc(now),
                        }
                    )
                )
            )
            return _require(connection, watch_id)

    def get(self, watch_id: int) -> Watch | None:
        """The watch with this id, or None."""
        with self._read() as connection:
            return _select_one(connection, watches.c.id == watch_id)

    def find_open(self, *, channel_id: str, target_key: str) -> Watch | None:
        """The open (PENDING/ACTIVE) watch of this channel and image, or None."""
        with self._read() as connection:
            return _select_one(connection, watches.c.open_key == open_key(channel_id, target_key))

    def list_open(self, *, channel_id: str | None = None) -> list[Watch]:
        """Open watches, oldest first; only this channel's when ``channel_id`` is given."""
        query = select_watches().where(is_open())
        if channel_id is not None:
            query = query.where(watches.c.channel_id == channel_id)
        query = query.order_by(watches.c.created_at, watches.c.id)
        parsed = Parsed()
        with self._read() as connection:
            return [to_watch(row, parsed) for row in connection.execute(query).mappings()]

    def count_open(self) -> int:
        """How many watches are open."""
        query = sa.select(sa.func.count()).select_from(watches).where(is_open())
        with self._read() as connection:
            return int(connection.execute(query).scalar_one())

    def record_progress(
        self,
        watch_id: int,
        *,
        snapshot: ProgressSnapshot,
        saw_running: bool,
        thread_posted_at: datetime | None,
        now: datetime,
        owed: Sequence[Owed] = (),
        follow: FollowState | None = None,
    ) -> Watch:
        """Keep the latest snapshot of an open watch, and store the messages it owes.

        ``saw_running`` only ever turns on (once seen running, always seen running).
        ``thread_posted_at`` None leaves the last thread post time unchanged.
        ``follow`` (when given) replaces the follow state.  A watch that was finished
        meanwhile is returned unchanged and owes nothing.
        """
        values: dict[str, Any] = {
            "last_snapshot": dump_snapshot(snapshot),
            "updated_at": as_utc(now),
        }
        if saw_running:
            values["saw_running"] = True
        if thread_posted_at is not None:
            values["last_thread_post_at"] = as_utc(thread_posted_at)
        if follow is not None:
            values["follow_state"] = codec.dumps(follow)
        with self._write() as connection:
            result = connection.execute(
                watches.update().where(watches.c.id == watch_id, is_open()).values(revised(values))
            )
            if result.rowcount and owed:
                enqueue(connection, owed, now=now)
            return _require(connection, watch_id)

    def add_watched_time_to_open(self, seconds: float) -> None:
        """Add ``seconds`` of following to every open watch: the follow clock moves (one
        row written, whatever the number of open watches)."""
        if seconds <= 0:
            return
        moved = {"followed_seconds": follow_clock.c.followed_seconds + seconds}
        with self._write() as connection:
            result = connection.execute(
                follow_clock.update().where(follow_clock.c.id == FOLLOW_CLOCK_ID).values(moved)
            )
            if not result.rowcount:  # its row is written by the migration; not if removed
                connection.execute(
                    follow_clock.insert().values(id=FOLLOW_CLOCK_ID, followed_seconds=seconds)
                )

    def finish(
        self,
        watch_id: int,
        *,
        state: WatchState,
        now: datetime,
        snapshot: ProgressSnapshot | None = None,
        owe: Callable[[Watch], Sequence[Owed]] | None = None,
        result_wait_until: datetime | None = None,
        result_checked: bool = True,
    ) -> Watch | None:
        """Move an open watch to the final ``state``; None if it was already finished.

        Exactly one of several concurrent callers gets the watch back, and only that one
        stores the final messages ``owe(finished_watch)`` returns, in the same transaction:
        the end of a watch is told exactly once.  ``snapshot``, when given, becomes the last
        snapshot.  ``result_wait_until``: the scan's result is looked for until then
        (:mod:`bot.store.result_waits`; the console was asked for it ``now`` unless
        ``result_checked`` is False: then it is asked at the next look).  Raises
        :class:`WatchNotFoundError` for an unknown id.
        """
        if state.is_open:
            raise ValueError(f"finish() needs a final state, not {state.value}")
        now = as_utc(now)
        values: dict[str, Any] = {
            "state": state.value,
            "open_key": None,
            "finished_at": now,
            "updated_at": now,
            "watched_seconds": follow_clock_now() - watches.c.followed_from,  # kept from now
        }
        if snapshot is not None:
            values["last_snapshot"] = dump_snapshot(snapshot)
        if result_wait_until is not None:
            values["result_wait_until"] = as_utc(result_wait_until)
            values["result_checked_at"] = now if result_checked else None
        with self._write() as connection:
            result = connection.execute(
                watches.update().where(watches.c.id == watch_id, is_open()).values(revised(values))
            )
            if result.rowcount == 0:
                _require(connection, watch_id)  # unknown id -> WatchNotFoundError
                return None
            finished = _require(connection, watch_id)
            if owe is not None:
                enqueue(connection, owe(finished), now=now)
            return finished

    def prune_finished(self, *, finished_before: datetime) -> int:
        """Delete watches that ended before ``finished_before``; returns how many.

        Open watches are never deleted, whatever their age.
        """
        cutoff = as_utc(finished_before)
        with self._write() as connection:
            result = connection.execute(
                watches.delete().where(
                    watches.c.state.not_in(OPEN_STATES), watches.c.finished_at < cutoff
                )
            )
            return int(result.rowcount or 0)


# --- rows <-> domain objects ------------------------------------------------------------


def _select_one(connection: Connection, condition: sa.ColumnElement[bool]) -> Watch | None:
    row = connection.execute(select_watches().where(condition)).mappings().first()
    return None if row is None else to_watch(row)


def _require(connection: Connection, watch_id: int) -> Watch:
    watch = _select_one(connection, watches.c.id == watch_id)
    if watch is None:
        raise WatchNotFoundError(f"no watch with id {watch_id}")
    return watch
