"""``scanbot progress``: show a scan's progress in a terminal, optionally until it is done."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console as RichConsole
from rich.live import Live
from rich.text import Text

from bot.cli.help import EXIT_CONFIG, EXIT_OK, EXIT_SCAN_FAILED
from bot.console.errors import ConsoleError
from bot.domain.images import ScanTarget
from bot.domain.ports import Console
from bot.domain.progress import Phase, ProgressSnapshot, interpret
from bot.domain.steps import Step, without_step_prefix
from bot.domain.text import one_line, truncate

_BAR_WIDTH = 30


def render(
    snap: ProgressSnapshot, target: ScanTarget | None, *, width: int | None = None
) -> list[str]:
    """Plain-text lines describing ``snap``; the console's text loses control and invisible
    characters, so a title cannot move the cursor, clear the screen, retitle the terminal
    or reorder what is shown (direction overrides).

    With ``width`` (a terminal's), no line is longer: the bars shrink, each step's title
    goes on a line of its own and long text is cut with "…".
    """
    name = target.display() if target else "regular registry scan"
    lines = [f"{name}: {_plain(snap.summary)}"]
    if snap.phase.running or snap.phase.finished:
        bar = _BAR_WIDTH if width is None else max(8, min(_BAR_WIDTH, width - 40))
        for label, step, noun in (
            ("discovery ", snap.discovery, "repositories"),
            ("image scan", snap.image_scan, "images"),
        ):
            lines += _step_lines(label, step, noun, bar, titled=width is None)
    if snap.error:
        lines.append(f"error: {_plain(snap.error)}")
    return lines if width is None else [truncate(line, width) for line in lines]


def _plain(text: str) -> str:
    return one_line(text)


def _step_lines(label: str, step: Step, noun: str, bar_width: int, *, titled: bool) -> list[str]:
    """The step's bar and counts, and its title (on the same line when ``titled``) once the
    step has started: a title of a step still waiting would tell what has not begun."""
    filled = step.percent * bar_width // 100
    bar = "#" * filled + "-" * (bar_width - filled)
    line = f"  {label} [{bar}] {step.counts_text(noun)}"
    title = _plain(without_step_prefix(step.title)) if step.started else ""
    if not title:
        return [line]
    return [f"{line}  {title}"] if titled else [line, f"               {title}"]


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
    """Print the progress once, or with ``watch`` until done; return the exit code.

    Watched in a terminal, the progress is one live view redrawn in place, its lines cut
    to the terminal's width; otherwise each change is printed below the last.
    """
    view = _LiveView(out) if watch and out.isatty() else None
    try:
        return _follow(
            console,
            target,
            watch=watch,
            interval=interval,
            out=out,
            err=err,
            sleep=sleep,
            view=view,
        )
    finally:
        if view is not None:
            view.stop()


def _follow(
    console: Console,
    target: ScanTarget | None,
    *,
    watch: bool,
    interval: float,
    out: TextIO,
    err: TextIO,
    sleep: Callable[[float], None],
    view: _LiveView | None,
) -> int:
    previous: ProgressSnapshot | None = None
    saw_running = False
    while True:
        try:
            entries = console.progress(target)
        except ConsoleError as exc:
            if view is not None:
                view.stop()
            print(f"scanbot: {exc}\n{exc.hint}", file=err)
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
            if view is not None:
                view.show(snap, target)
            else:
                out.write("\n".join(render(snap, target)) + "\n")
                out.flush()
        previous = snap
        if not watch or not snap.phase.running:
            return exit_code(snap)
        sleep(interval)


class _LiveView:
    """rich's live display on a terminal: one drawing, redrawn in place at its width."""

    def __init__(self, out: TextIO) -> None:
        self._console = RichConsole(file=out, highlight=False)
        self._live = Live(console=self._console, auto_refresh=False, transient=False)
        self._started = False

    def show(self, snap: ProgressSnapshot, target: ScanTarget | None) -> None:
        lines = render(snap, target, width=max(20, self._console.width - 1))
        drawing = Text("\n".join(lines), no_wrap=True, overflow="ellipsis")
        if not self._started:
            self._live.start()
            self._started = True
        self._live.update(drawing, refresh=True)

    def stop(self) -> None:
        if self._started:
            self._live.stop()
            self._started = False
