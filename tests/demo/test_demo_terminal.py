"""``scanbot demo`` as a person sees it: in an 80x24 or 120x40 terminal, and piped.

The terminal runs go through a terminal emulator (pyte): what is asserted is what the
window showed while the demo ran (each redraw) and what is left to scroll through.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.terminal import ROOT, TerminalRun, run_in_terminal
from tests.test_cli import clean_env

SUBSCRIBED = "#C0DEMO will be told about every regular registry scan"


def demo_in_terminal(*args: str, columns: int, rows: int) -> TerminalRun:
    run = run_in_terminal(
        [sys.executable, "-m", "bot", "demo", *args], columns=columns, rows=rows, env=clean_env()
    )
    assert run.returncode == 0, "\n".join(run.everything)
    return run


def assert_the_whole_story(run: TerminalRun, rows: int) -> None:
    # rich cuts a drawing taller than the window to "..."; no frame may be cut.
    assert "..." not in run.raw
    live = [s for s in run.screens if any("polling the simulated console" in line for line in s)]
    assert live, "no live frame seen"
    together = [
        s
        for s in live
        if any("Scan progress: alpine:3.16" in line for line in s)
        and any("Regular registry scan" in line for line in s)
    ]
    assert together, "no frame shows the followed scan and the subscription at once"
    assert all(len(s) == rows for s in run.screens)
    everything = "\n".join(run.everything)
    for told in (
        "you typed /scanprogress scan alpine 3.16",
        "Following alpine:3.16",
        SUBSCRIBED,
        "Scan complete \u2014 alpine:3.16",
        "Vulnerabilities",
        "Regular registry scan complete",
        "all scans complete",
    ):
        assert told in everything, told


@pytest.mark.parametrize(("columns", "rows"), [(80, 24), (120, 40)])
def test_demo_in_a_terminal_shows_every_frame_whole_and_the_subscription(
    columns: int, rows: int
) -> None:
    """Fails before: at 80x24, 68 of 84 frames were cut to "...", hiding the subscription."""
    assert_the_whole_story(demo_in_terminal("--fast", columns=columns, rows=rows), rows)


def test_the_readmes_first_command_shows_the_whole_story_at_80x24() -> None:
    assert_the_whole_story(demo_in_terminal(columns=80, rows=24), 24)


def test_demo_piped_prints_only_what_changed() -> None:
    """Fails before: piped, every change printed the whole message again (~200 lines)."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--fast"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) < 100, result.stdout
    assert "[message updated: Scan progress: alpine:3.16]" in lines
    assert lines.count("  Scan progress: alpine:3.16") == 1  # the whole message once
    assert sum(line.startswith("  Requested by @U0DEMO") for line in lines) == 1
