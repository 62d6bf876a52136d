"""Time (and let a profiler see) the bot's poll cycle over many open, unchanged watches.

Two steps, so a profiler sees only the cycles::

    python -m bench.cycle_profile seed DIR [IMAGES WATCHES]
    python -m pyinstrument -m bench.cycle_profile cycles DIR [CYCLES]

``seed`` starts nothing but writes ``DIR/scanbot.db`` (WATCHES open ACTIVE watches over
IMAGES images, each holding the progress the simulated console will report).  ``cycles``
starts the simulated console and the Slack stand-in on loopback, builds the bot (not
started: no scheduler, no HTTP; its start-up heap frozen as ``scanbot serve`` freezes
it) on that database and runs CYCLES poll cycles in this thread, printing each cycle's
duration, CPU seconds (every thread of the process) and report.  Nothing is asserted.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench import tools
from bench.run import FROZEN, BenchConfig, _bot_env
from bot.config.settings import load_settings
from bot.domain.images import ScanTarget
from bot.process.collector import freeze_startup_heap
from bot.runtime import build_runtime
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn

USAGE = (
    "usage: python -m bench.cycle_profile seed DIR [IMAGES WATCHES]\n"
    "       python -m bench.cycle_profile cycles DIR [CYCLES]"
)


def _targets(images: int) -> list[ScanTarget]:
    return [ScanTarget(repo=f"bench/seed{i}", tag="1.0") for i in range(images)]


def _started(console: SandboxConsole, images: int) -> None:
    for target in _targets(images):
        console.start_on_demand_scan(target.repo, tag=target.tag, images=1000)


def seed(directory: Path, images: int, watches: int) -> int:
    """Write ``directory/scanbot.db`` with ``watches`` open watches; returns how many."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "images").write_text(str(images))
    with (
        SandboxConsole(SandboxConsoleConfig(step_seconds=FROZEN)).start() as console,
        SlackApiStandIn(token="xoxb-bench-token").start() as slack,  # noqa: S106 - loopback
    ):
        _started(console, images)
        cfg = BenchConfig(images=images, watches=watches)
        env = _bot_env(console, slack, f"sqlite:///{directory / 'scanbot.db'}", cfg)
        settings = load_settings(env, only=None)
        return tools.seed_watches(settings, _targets(images), max(1, watches // images))


@dataclass(frozen=True, slots=True)
class _Console:
    """What the bot needs of a simulated console running in another process."""

    url: str
    config: SandboxConsoleConfig


def _serve_console(images: int, pipe: Connection) -> None:
    """The child process: the simulated console with ``images`` scans under way, until told."""
    with SandboxConsole(SandboxConsoleConfig(step_seconds=FROZEN)).start() as console:
        _started(console, images)
        pipe.send((console.url, console.config.user, console.config.password))
        pipe.recv()  # until the parent is done


@contextlib.contextmanager
def _console_process(images: int) -> Iterator[_Console]:
    """The simulated console in a process of its own: its CPU is not the bot's."""
    with tools.console_in_child(_serve_console, images) as (url, config, _pipe):
        yield _Console(url, config)


def cycles(directory: Path, count: int, *, cold: bool = False) -> tuple[list[float], list[float]]:
    """Run ``count`` poll cycles (after one that starts the time followed); the seconds
    each took and the CPU seconds of this process (every thread: the bot's own; the
    simulated console runs in another process) each cost.  ``cold``: every open watch is
    read and parsed from its row each cycle (the keeper of open watches forgets them)."""
    took, cpu, _fetch = _run_cycles(directory, count, cold=cold, verbose=True)
    return took, cpu


def measure(directory: Path, count: int) -> dict[str, Any]:
    """The figures the benchmark prints: median CPU seconds of a cycle with the open
    watches kept (``kept``), with every row read and parsed each cycle (``every_row``:
    what keeping the watches saves), and of the console requests alone (``requests``: the
    cycle's fetch of every image)."""
    _took, kept, requests = _run_cycles(directory, count, cold=False, verbose=False)
    _took, every_row, _fetch = _run_cycles(directory, count, cold=True, verbose=False)
    return {
        "cycles": count,
        "kept_cpu_seconds": _median(kept),
        "every_row_cpu_seconds": _median(every_row),
        "requests_cpu_seconds": _median(requests),
    }


def _median(values: list[float]) -> float:
    return round(sorted(values)[len(values) // 2], 4) if values else 0.0


def _run_cycles(
    directory: Path, count: int, *, cold: bool, verbose: bool
) -> tuple[list[float], list[float], list[float]]:
    images = int((directory / "images").read_text())
    took: list[float] = []
    cpu: list[float] = []
    fetch: list[float] = []
    with (
        _console_process(images) as console,
        SlackApiStandIn(token="xoxb-bench-token").start() as slack,  # noqa: S106 - loopback
    ):
        env = _bot_env(console, slack, f"sqlite:///{directory / 'scanbot.db'}", BenchConfig())
        runtime = build_runtime(load_settings(env, only=None), token_verification=False)
        freeze_startup_heap()  # as `scanbot serve` does once started
        try:
            runtime.poll_once()
            for _ in range(count):
                if cold:
                    runtime.open_watches.forget()
                started, cpu_started = time.perf_counter(), time.process_time()
                report = runtime.poll_once()
                took.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                if verbose:
                    print(f"cycle {took[-1]:.3f} s, CPU {cpu[-1]:.3f} s: {report}", flush=True)
            watches = runtime.open_watches.read().watches
            for _ in range(count):
                cpu_started = time.process_time()
                runtime.fetcher.fetch(watches, budget=30.0)
                fetch.append(time.process_time() - cpu_started)
        finally:
            runtime.shutdown()
    return took, cpu, fetch


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("seed", "cycles") or not all(a.isdigit() for a in argv[2:]):
        print(USAGE, file=sys.stderr)
        return 2
    directory = Path(argv[1])
    numbers = [int(a) for a in argv[2:]]
    if argv[0] == "seed":
        if (directory / "scanbot.db").exists():
            print(f"{directory / 'scanbot.db'} exists: seed into a new DIR", file=sys.stderr)
            return 2
        images, watches = (numbers + [200, 10_000][len(numbers) :])[:2]
        started = time.perf_counter()
        created = seed(directory, images, watches)
        print(f"seeded {created} watches in {time.perf_counter() - started:.1f} s")
        return 0
    took, cpu = cycles(directory, numbers[0] if numbers else 5)
    print(
        f"median cycle {sorted(took)[len(took) // 2]:.3f} s, CPU "
        f"{sorted(cpu)[len(cpu) // 2]:.3f} s, over {len(took)} cycles"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
