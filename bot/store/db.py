"""Engine creation, schema migration and health check for the store.

SQLite (the default) and PostgreSQL share one code path.  For SQLite the engine turns on
WAL and a busy timeout, and SQLAlchemy (not the ``sqlite3`` driver) emits ``BEGIN`` so that
reads, DDL and savepoints are really transactional; the *immediate* engine begins with
``BEGIN IMMEDIATE`` so a read-then-write transaction takes the write lock up front instead
of failing on a stale snapshot when another writer got in first.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

_log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_SWITCH_ATTEMPTS = 20  # about two seconds in all
POSTGRES_CONNECT_TIMEOUT_S = 10
# Key of the PostgreSQL advisory lock that serialises migrations between replicas.
MIGRATION_LOCK_KEY = zlib.crc32(b"scanbot.store.migrate")
_IMMEDIATE = "scanbot_sqlite_immediate"


class WriterTurns:
    """The writers of one process to one SQLite file, one at a time, first come first
    served (a re-entrant lock, so a write inside a write is fine).

    SQLite lets one connection write at a time; a connection that finds the database
    locked sleeps in its busy handler (1, 2, 5, 10 ... 100 ms) and tries again, so under
    contention a short write can wait many times its length.  Queued here, a writer waits
    only for the writes ahead of it.  A writer that waited the whole busy timeout goes on
    without its turn and meets SQLite's own lock (and its error) as before; other
    processes (the CLI, a migration) still meet only SQLite's lock.
    """

    def __init__(self, timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> None:
        self._lock = threading.RLock()
        self._timeout = timeout
        self._held = threading.local()

    def __enter__(self) -> None:
        stack: list[bool] = self._held.__dict__.setdefault("stack", [])
        stack.append(self._lock.acquire(timeout=self._timeout))

    def __exit__(self, *_exc: object) -> None:
        if self._held.stack.pop():
            self._lock.release()


def is_memory_sqlite(url: URL) -> bool:
    """True for an in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``)."""
    if url.get_backend_name() != "sqlite":
        return False
    mode = url.query.get("mode")
    return url.database in (None, "", ":memory:") or mode == "memory"


def make_engine(database_url: str, *, echo: bool = False) -> Engine:
    """Create the engine for ``database_url``; nothing connects until it is used."""
    url = sa.make_url(database_url)
    kwargs: dict[str, Any] = {"echo": echo}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False}
        if is_memory_sqlite(url):
            kwargs["poolclass"] = StaticPool  # one shared connection, or each sees its own DB
    else:
        kwargs["pool_pre_ping"] = True  # replicas outlive database restarts and idle cuts
        if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    engine = sa.create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine, memory=is_memory_sqlite(url))
    return engine


def _configure_sqlite(engine: Engine, *, memory: bool) -> None:
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        assert isinstance(dbapi_connection, sqlite3.Connection)
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                _enable_wal(cursor)
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", on_begin)


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the database file to WAL (a persistent setting) unless it already is.

    Switching needs a moment of exclusive access, and SQLite answers "database is locked"
    at once (without waiting for the busy timeout) while another connection holds a lock,
    as when several processes open a brand-new file together: retry briefly, then go on in
    the current mode rather than fail the connection.
    """
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            time.sleep(0.01 * (attempt + 1))
    _log.warning("could not switch the SQLite database to WAL yet; continuing")


def immediate(engine: Engine) -> Engine:
    """The same engine (same pool) whose SQLite transactions start with ``BEGIN IMMEDIATE``.

    Use it for transactions that read and then write.  Other databases ignore the option.
    """
    return engine.execution_options(**{_IMMEDIATE: True})


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the packaged migrations; no ``alembic.ini`` is needed.

    With ``connection``, ``env.py`` runs the migrations on it (inside its transaction).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Create the schema or upgrade it to the latest revision; idempotent.

    Everything runs in one transaction.  On PostgreSQL a transaction-scoped advisory lock
    makes replicas starting together take turns (the later ones find the schema at head);
    on SQLite ``BEGIN IMMEDIATE`` takes the database's write lock for the same effect.
    """
    with immediate(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        command.upgrade(alembic_config(connection), "head")
    _log.info(
        "database schema is at the latest revision (%s)",
        engine.url.render_as_string(hide_password=True),
    )


def ping(engine: Engine) -> bool:
    """``SELECT 1``: True when the database answers, False (never raises) when it does not."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = error.orig if isinstance(error, DBAPIError) else error
        _log.warning("database did not answer: %s: %s", type(reason).__name__, reason)
        return False
    return True
