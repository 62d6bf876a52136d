"""Schema migration, restart, health check and engine set-up of the store."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.domain.images import ScanTarget
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.steps import Step
from bot.domain.watch import WatchState
from bot.store import Store
from bot.store.db import alembic_config, make_engine
from bot.store.tables import metadata

T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
TARGET = ScanTarget(repo="team/app", tag="1.2", registry="registry.example.com:5000")


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def _table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_form_one_linear_history_starting_at_0001() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(script.walk_revisions())
    assert len(script.get_heads()) == 1
    assert revisions[-1].revision == "0001"
    assert revisions[-1].down_revision is None


def test_migrate_creates_the_schema_at_head_and_is_idempotent(database_url: str) -> None:
    store = Store(database_url)
    try:
        store.migrate()
        watch, _ = store.create_watch(target=TARGET, channel_id="C1", requester_id="U1", now=T0)
        store.migrate()  # second run: nothing to do, data untouched
        assert store.get(watch.id) == watch
    finally:
        store.close()
    if "memory" not in database_url:
        assert _current_revision(database_url) == _head()
        assert {"watches", "locks", "alembic_version"} <= _table_names(database_url)


def test_migrated_schema_matches_the_table_definitions(shared_database_url: str) -> None:
    """The migrations and bot/store/tables.py describe the same schema (no autogenerate diff)."""
    store = Store(shared_database_url)
    try:
        store.migrate()
    finally:
        store.close()
    engine = make_engine(shared_database_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_downgrade_to_base_removes_the_tables_and_upgrade_restores_them(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'scanbot.db'}"
    store = Store(url)
    store.migrate()
    store.close()
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
    finally:
        engine.dispose()
    assert _table_names(url) <= {"alembic_version"}
    store = Store(url)
    try:
        store.migrate()
        assert store.list_open() == []
    finally:
        store.close()
    assert _current_revision(url) == _head()


def test_data_survives_a_restart(shared_database_url: str) -> None:
    """Migrate a database, write, close; a new Store (a restarted bot) reads it all back."""
    snapshot = ProgressSnapshot(
        phase=Phase.SCANNING, image_scan=Step(total=4, scanned=1, title="Scanning")
    )
    before = Store(shared_database_url)
    try:
        before.migrate()
        open_watch, _ = before.create_watch(
            target=TARGET, channel_id="C1", requester_id="U1", now=T0
        )
        before.activate(open_watch.id, parent_ts="1700000000.000200", now=T0)
        open_watch = before.record_progress(
            open_watch.id,
            snapshot=snapshot,
            saw_running=True,
            thread_posted_at=T0 + timedelta(seconds=5),
            now=T0 + timedelta(seconds=5),
        )
        other, _ = before.create_watch(target=TARGET, channel_id="C2", requester_id="U2", now=T0)
        finished = before.finish(other.id, state=WatchState.STOPPED, now=T0)
        assert before.try_lock("poll", owner="old", ttl=timedelta(minutes=1), now=T0)
    finally:
        before.close()

    after = Store(shared_database_url)
    try:
        after.migrate()
        assert after.get(open_watch.id) == open_watch
        assert after.get(other.id) == finished
        assert after.list_open() == [open_watch]
        assert after.find_open(channel_id="C1", target_key=TARGET.key) == open_watch
        # The lease written before the restart is still held by its owner.
        assert not after.try_lock("poll", owner="new", ttl=timedelta(minutes=1), now=T0)
    finally:
        after.close()


def test_replicas_migrating_at_once_all_succeed(shared_database_url: str) -> None:
    stores = [Store(shared_database_url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def migrate(store: Store) -> None:
        try:
            barrier.wait(timeout=10)
            store.migrate()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.close()
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert _current_revision(shared_database_url) == _head()


def test_ping_is_true_for_a_working_database(database_url: str) -> None:
    store = Store(database_url)
    try:
        assert store.ping() is True
    finally:
        store.close()


def test_ping_is_false_not_an_error_when_the_database_cannot_be_opened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'scanbot.db'}")
    try:
        with caplog.at_level(logging.WARNING, logger="bot.store"):
            assert store.ping() is False
    finally:
        store.close()
    assert "did not answer" in caplog.text


def test_ping_is_false_when_postgres_does_not_answer() -> None:
    pytest.importorskip("psycopg")
    store = Store("postgresql+psycopg://scanbot:hunter2@127.0.0.1:1/scanbot")
    try:
        assert store.ping() is False
    finally:
        store.close()


def test_store_repr_hides_the_password() -> None:
    pytest.importorskip("psycopg")
    store = Store("postgresql+psycopg://scanbot:hunter2@127.0.0.1:1/scanbot")
    try:
        assert "hunter2" not in repr(store)
        assert "127.0.0.1" in repr(store)
    finally:
        store.close()


def test_creating_a_store_does_no_io(tmp_path: Path) -> None:
    path = tmp_path / "lazy.db"
    store = Store(f"sqlite:///{path}")
    assert not path.exists()
    store.close()


def test_sqlite_file_database_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'scanbot.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            busy_timeout_ms = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
            assert isinstance(busy_timeout_ms, int)
            assert busy_timeout_ms >= 1000
    finally:
        engine.dispose()


def test_upgrading_to_the_follow_clock_keeps_every_watchs_time_followed(
    shared_database_url: str,
) -> None:
    """Watches written before the follow clock keep their time followed: an open one goes
    on counting from it, a finished one keeps it; and back down again."""
    engine = make_engine(shared_database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0008")
            for watch_id, state, seconds in ((1, "active", 40.0), (2, "completed", 70.0)):
                connection.execute(
                    sa.text(
                        "INSERT INTO watches (id, repo, tag, target_key, channel_id,"
                        " requester_id, state, saw_running, created_at, updated_at,"
                        " watched_seconds) VALUES (:id, 'team/app', '1.0', :key, 'C1', 'U1',"
                        " :state, true, :at, :at, :seconds)"
                    ),
                    {
                        "id": watch_id,
                        "key": f"team/app:{watch_id}",
                        "state": state,
                        "at": T0,
                        "seconds": seconds,
                    },
                )
    finally:
        engine.dispose()
    store = Store(shared_database_url)
    try:
        store.migrate()
        store.add_watched_time_to_open(5.0)
        assert store.get(1).watched_seconds == 45.0  # type: ignore[union-attr]
        assert store.get(2).watched_seconds == 70.0  # type: ignore[union-attr]
    finally:
        store.close()
    engine = make_engine(shared_database_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0008")
            rows = connection.execute(sa.text("SELECT id, watched_seconds FROM watches")).all()
            kept = {int(row[0]): float(row[1]) for row in rows}
    finally:
        engine.dispose()
    assert kept == {1: 45.0, 2: 70.0}
