"""``scanbot progress --watch`` in a real (pseudo-)terminal, read as a person reads it.

The command runs with an 80x24 or 120x40 window; its output goes through a terminal
emulator (pyte), so what is asserted is what the window and its scrollback show.
"""

from __future__ import annotations

import sys

import pytest

from tests.support.terminal import run_in_terminal
from tests.test_cli import clean_env


@pytest.mark.parametrize(("columns", "rows"), [(80, 24), (120, 40)])
def test_progress_watch_redraws_one_view_in_place(columns: int, rows: int) -> None:
    """Fails before: each frame was printed below the last, lines of ~124 characters
    wrapped, and the redraw moved up too few lines: old frames piled up."""
    run = run_in_terminal(
        [
            sys.executable,
            "-m",
            "bot",
            "progress",
            "--sandbox",
            "alpine:3.16",
            "--watch",
            "--interval",
            "0.2",
        ],
        columns=columns,
        rows=rows,
        env=clean_env(),
    )
    assert run.returncode == 0, run.everything
    shown = [line for line in run.everything if line.strip()]
    assert shown[0] == "alpine:3.16: Scan complete: 8/8 images scanned", shown
    assert [line.split("[")[0] for line in shown[1:]] == [
        "  discovery  ",
        "               Discovering tags in repository: library/alpine, tag: 3.16",
        "  image scan ",
        "               Scanning images in repository: library/alpine, tag: 3.16",
    ]
    assert shown[1].endswith("] 1/1 repositories (100%)")
    assert shown[3].endswith("] 8/8 images (100%)")
    assert all(len(line) < columns for line in shown)  # nothing wrapped


def test_progress_watch_at_80_columns_cuts_a_long_title_rather_than_wrapping_it() -> None:
    """The regular scan's titles are long; each stays on its line, cut with "…"."""
    run = run_in_terminal(
        [sys.executable, "-m", "bot", "progress", "--sandbox", "--watch", "--interval", "0.2"],
        columns=80,
        rows=24,
        env=clean_env(),
    )
    assert run.returncode == 0, run.everything
    shown = [line for line in run.everything if line.strip()]
    assert shown[0].startswith("regular registry scan: Scan complete")
    assert len(shown) == 5, shown
    assert all(len(line) < 80 for line in shown)
