"""The SQLite file deleted (``rm``) under a running ``scanbot run``, nothing closed first.

Open connections keep writing to an unlinked file without any error, so the bot must look
at the path itself: within a poll cycle it says so once (ERROR), ``/healthz`` turns 503
for good (the process's state no longer matches what a restart will find), and an empty
database is created and migrated at the path, where new follows are stored.

Before the file's identity was checked, all three assertions failed: nothing was logged,
``/healthz`` stayed 200 and new follows went into the deleted file.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import httpx
import pytest

from bot.store.sqlite_file import FILE_MODE
from tests.reliability.stage import stage

CHANNEL = "C0DELETED"
LOST = "was changed under the running bot"


def _stored_targets(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [row[0] for row in connection.execute("SELECT target_key FROM watches")]
    finally:
        connection.close()


@pytest.mark.parametrize("with_wal", [False, True], ids=["main-file", "with-wal-and-shm"])
def test_a_database_file_deleted_under_the_running_bot_is_noticed_said_once_and_recreated(
    tmp_path: Path, with_wal: bool
) -> None:
    with stage(tmp_path) as s:
        assert s.bot is not None
        path = tmp_path / "scanbot.db"
        s.start_scan("library/alpine")
        s.follow("alpine", CHANNEL)
        s.wait(lambda: len(s.parents(CHANNEL)) == 1, channel=CHANNEL, timeout=20)

        os.unlink(path)  # as `rm` does: the bot's connections stay open
        if with_wal:
            for suffix in ("-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)

        s.wait(lambda: any(LOST in line for line in s.log_lines()), channel=CHANNEL, timeout=20)
        health = httpx.get(f"{s.bot.url}/healthz", timeout=3)
        assert health.status_code == 503
        assert LOST in health.json()["problems"]["database"]

        s.start_scan("library/nginx")
        s.follow("nginx", CHANNEL)
        s.wait(lambda: len(s.parents(CHANNEL)) == 2, channel=CHANNEL, timeout=20)
        assert any("nginx" in key for key in _stored_targets(path))
        assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE

        said = [line for line in s.log_lines() if LOST in line]
        assert len(said) == 1, said
        assert "ERROR" in said[0]
        assert httpx.get(f"{s.bot.url}/healthz", timeout=3).status_code == 503
