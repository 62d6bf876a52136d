"""A command run in a pseudo-terminal of a given size, its output read as a person sees it.

The child gets a real window size (``TIOCSWINSZ``) and ``COLUMNS``/``LINES``; everything it
writes is fed to a :mod:`pyte` screen, which applies cursor moves and erasures as a
terminal does.  :attr:`TerminalRun.lines` is what the window shows at the end,
:attr:`TerminalRun.history` the lines that scrolled off its top and
:attr:`TerminalRun.screens` the window as it was after each piece of output.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    lines: list[str]  # the window at the end, trailing spaces removed
    history: list[str]  # lines scrolled off the top, oldest first
    raw: str  # everything written, escape sequences included
    screens: list[list[str]]  # the window after each read of output, when it changed

    @property
    def everything(self) -> list[str]:
        """The scrollback then the window: all a person can scroll through."""
        return [*self.history, *self.lines]


def run_in_terminal(
    argv: Sequence[str],
    *,
    columns: int,
    rows: int,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> TerminalRun:
    """Run ``argv`` with a ``columns`` x ``rows`` pseudo-terminal as stdin/stdout/stderr."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    child_env = dict(env if env is not None else os.environ)
    child_env.update({"COLUMNS": str(columns), "LINES": str(rows), "TERM": "xterm-256color"})
    for name in ("NO_COLOR", "FORCE_COLOR", "CI", "GITHUB_ACTIONS"):
        child_env.pop(name, None)
    proc = subprocess.Popen(
        list(argv),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=child_env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(follower)
    screen = pyte.HistoryScreen(columns, rows, history=10_000)
    stream = pyte.ByteStream(screen)
    raw = bytearray()
    screens: list[list[str]] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"{argv} did not finish within {timeout} s")
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                raw += chunk
                stream.feed(chunk)
                window = [line.rstrip() for line in screen.display]
                if not screens or screens[-1] != window:
                    screens.append(window)
            elif proc.poll() is not None:
                # Drain what is left, then stop.
                continue
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    history = [
        "".join(ch.data for ch in _row(line, columns)).rstrip() for line in screen.history.top
    ]
    return TerminalRun(
        returncode=proc.returncode,
        lines=[line.rstrip() for line in screen.display],
        history=history,
        raw=raw.decode("utf-8", errors="replace"),
        screens=screens,
    )


def _row(line: object, columns: int) -> list[pyte.screens.Char]:
    """One history row (a dict of column -> Char) as a list of characters."""
    assert isinstance(line, dict)
    blank = pyte.screens.Char(" ")
    return [line.get(x, blank) for x in range(columns)]
