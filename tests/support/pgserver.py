"""A throwaway PostgreSQL server of the test's own, which the test may stop and start.

The shared test server must never be stopped; a test that needs "PostgreSQL is down" runs
this one (``initdb`` + ``pg_ctl`` from the installed PostgreSQL, as the ``postgres`` user
when the tests run as root).  Skips when no PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.process import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(found[-1]) if found else None


class ThrowawayPostgres:
    """``start()``, ``stop()``, ``start()`` again on the same port and data; ``remove()``."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None or not (bin_dir / "initdb").exists():
            pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
        self._bin = bin_dir
        self.port = free_port()
        # Under /tmp itself: pytest's directories are private to the test user.
        self.dir = Path(tempfile.mkdtemp(prefix="scanbot-pg-"))
        self._as_pg: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres")
            self._as_pg = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as_pg, str(self._bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w",
            "-o", options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop now: clients are disconnected (``-m fast``)."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def createdb(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
