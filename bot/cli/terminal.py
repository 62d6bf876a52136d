"""``scanbot progress``: show a scan's progress in a terminal, optionally until it is done."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from bot.cli.help import EXIT_CONFIG, EXIT_OK, EXIT_SCAN_FAILED
from bot.console.errors import ConsoleError
from bot.domain.images import ScanTarget
from bot.domain.ports import Console
from bot.domain.progress import Phase, ProgressSnapshot, interpret
from bot.domain.steps import Step
from bot.domain.text import one_line

_BAR_WIDTH = 30


def render(snap: ProgressSnapshot, target: ScanTarget | None) -> list[str]:
    """Plain-text lines describing ``snap``; the console's text loses control and invisible
    characters, so a title cannot move the cursor, clear the screen, retitle the terminal
    or reorder what is shown (direction overrides)."""
    name = target.display() if target else "regular registry scan"
    lines = [f"{name}: {_plain(snap.summary)}"]
    if snap.phase.running or snap.phase.finished:
        lines.append(_step_line("discovery ", snap.discovery))
        lines.append(_step_line("image scan", snap.image_scan))
    if snap.error:
        lines.append(f"error: {_plain(snap.error)}")
    return lines


def _plain(text: str) -> str:
    return one_line(text)


def _step_line(label: str, step: Step) -> str:
    filled = step.percent * _BAR_WIDTH // 100
    bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
    line = f"  {label} [{bar}] {step.counts_text()}"
    return f"{line}  {_plain(step.title)}" if step.title else line


def exit_code(snap: ProgressSnapshot) -> int:
    return EXIT_SCAN_FAILED if snap.phase is Phase.FAILED else EXIT_OK


def show_progress(
    console: Console,
    target: ScanTarget | None,
    *,
    watch: bool,
    interval: float,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Print the progress once, or with ``watch`` until done; return the exit code."""
    previous: ProgressSnapshot | None = None
    saw_running = False
    redraw = watch and out.isatty()
    drawn = 0
    while True:
        try:
            entries = console.progress(target)
        except ConsoleError as exc:
            print(f"error: {exc}\n{exc.hint}", file=err)
            return EXIT_CONFIG
        # An on-demand scan reports "finished" once, then []; we may have missed it.
        snap = interpret(entries, saw_running=saw_running, last=previous)
        if snap.phase.running:
            saw_running = True
        if not entries and target is not None and not saw_running:
            print(
                f"{target.display()}: no on-demand scan in progress. Start one in the console "
                "(Monitor > Vulnerabilities > Images > Registries) and run this again.",
                file=out,
            )
            return EXIT_OK
        if previous is None or snap.changed_from(previous) or not watch:
            lines = render(snap, target)
            if redraw and drawn:
                out.write(f"\x1b[{drawn}F\x1b[J")  # move up and clear the previous drawing
            out.write("\n".join(lines) + "\n")
            out.flush()
            drawn = len(lines)
        previous = snap
        if not watch or not snap.phase.running:
            return exit_code(snap)
        sleep(interval)
