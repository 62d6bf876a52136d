"""The SQLite database file as the operating system sees it: still the one we opened?

``rm scanbot.db`` under a running bot does not stop it: SQLite's open connections keep
reading and writing the unlinked file (and its ``-wal``/``-shm``), every write succeeds,
and all of it is gone at the next start.  :class:`SqliteFile` remembers each file's
identity (device and inode) once the database is open and answers, at any time, whether
the path still names those files.  It also creates a missing database file readable and
writable by its owner only (SQLite gives ``-wal`` and ``-shm`` the main file's mode).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

#: The mode of a database file scanbot creates: it holds channel ids and user ids.
FILE_MODE = 0o600
SUFFIXES = ("", "-wal", "-shm")

_Identity = tuple[int, int]


def _identity(path: Path) -> _Identity | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


class SqliteFile:
    """One SQLite database path: create it private, remember and check its identity."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._opened: dict[str, _Identity] = {}

    def create_private(self) -> None:
        """Create the database file with mode 0600 when it does not exist (before SQLite
        opens it, so SQLite does not create it with the umask's mode)."""
        with contextlib.suppress(FileExistsError, FileNotFoundError):
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            os.close(descriptor)

    def remember(self) -> None:
        """Record the identity of the files that exist now (call once the database is
        open: the main file always, ``-wal`` and ``-shm`` while connections are open)."""
        opened: dict[str, _Identity] = {}
        for suffix in SUFFIXES:
            identity = _identity(self._with(suffix))
            if identity is not None:
                opened[suffix] = identity
        with self._lock:
            self._opened = opened

    def problem(self) -> str | None:
        """What happened to the files remembered, or None while the path still names them.

        A file that is gone or is another file (another inode or device) is reported;
        ``-wal``/``-shm`` only when they existed at :meth:`remember`.
        """
        with self._lock:
            opened = dict(self._opened)
        changed: list[str] = []
        for suffix, identity in opened.items():
            now = _identity(self._with(suffix))
            if now is None:
                changed.append(f"{self._with(suffix).name} was deleted")
            elif now != identity:
                changed.append(f"{self._with(suffix).name} was replaced by another file")
        return "; ".join(changed) or None

    def _with(self, suffix: str) -> Path:
        return self.path.with_name(self.path.name + suffix)
