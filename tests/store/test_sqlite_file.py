"""The SQLite database file: created private, and its identity checked while open."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bot.domain.ports import utc_now
from bot.store import Store
from bot.store.sqlite_file import FILE_MODE


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_file_and_its_wal_and_shm_are_created_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    """Before, SQLite created them with the umask's mode (0644 under the usual 022)."""
    path = tmp_path / "scanbot.db"
    previous = os.umask(0o022)
    try:
        store = Store(f"sqlite:///{path}")
        store.migrate()
        store.subscribe("C1", by_user="U1", source="command", now=utc_now())
    finally:
        os.umask(previous)
    try:
        for suffix in ("", "-wal", "-shm"):
            assert _mode(path.with_name(path.name + suffix)) == FILE_MODE, suffix
    finally:
        store.close()


def test_an_intact_database_file_reports_no_problem_and_a_deleted_one_says_which(
    tmp_path: Path,
) -> None:
    path = tmp_path / "scanbot.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    try:
        assert store.file_problem() is None
        path.with_name(path.name + "-wal").unlink()
        assert store.file_problem() == "scanbot.db-wal was deleted"
        store.reopen()
        assert store.file_problem() is None
        path.unlink()
        path.write_bytes(b"")  # another file at the same path
        assert store.file_problem() is not None
        assert "scanbot.db was replaced by another file" in str(store.file_problem())
    finally:
        store.close()


def test_a_database_that_is_not_a_sqlite_file_has_no_file_to_check() -> None:
    store = Store("sqlite://")
    store.migrate()
    try:
        assert store.file_problem() is None
    finally:
        store.close()
