"""The console figures of ``python -m bench``: whole idle poll cycles over seeded watches.

Console requests per distinct image per cycle, and a cycle's fetch span beside a bare
httpx loop sending the same requests at the same concurrency.  :func:`console_scale` does
it again with its own bot process and database for the second configuration: 1,000
distinct images followed from 5 channels each, at the default poll interval.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench import tools
from bot.config.settings import load_settings
from bot.domain.images import ScanTarget
from bot.sandbox.console import RecordedRequest, SandboxConsole
from bot.sandbox.slack.api import SlackApiStandIn


def progress_requests(console: SandboxConsole) -> list[RecordedRequest]:
    return [r for r in console.requests if r.path.endswith("/registry/progress")]


def idle_cycles(
    console: SandboxConsole,
    slack: SlackApiStandIn,
    seeded: list[ScanTarget],
    *,
    poll_seconds: float,
    cycles: int,
    concurrency: int,
    bare_seconds: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Whole poll cycles over the seeded watches, whose scans do not move: the console's
    figures and the Slack calls made meanwhile."""
    console.clear_requests()
    slack.clear()
    wanted = cycles + 2  # the first and the last may be cut by the window
    # a pause between two requests longer than this starts a cycle: within a cycle they
    # come milliseconds apart; between two, the poll interval less the cycle (> 1 s here)
    gap = min(poll_seconds / 2, 0.5)
    tools.wait_until(
        lambda: len(tools.cycles_of(progress_requests(console), gap)) > wanted,
        timeout=poll_seconds * (wanted + 2) + 120,
    )
    groups = tools.cycles_of(progress_requests(console), gap)[1:-1] or [[]]
    requests = sum(len(g) for g in groups)
    images = len(seeded)
    spans = [g[-1].at - g[0].at for g in groups if g] or [0.0]
    idle_calls = len(slack.calls)
    console_figures = {
        "images": images,
        "cycles": len(groups),
        "requests_per_image_per_cycle": round(requests / (images * len(groups)), 3),
        "cycle_fetch_seconds": round(statistics.median(spans), 3),
        "slowest_cycle_fetch_seconds": round(max(spans), 3),
        "bare_httpx_seconds": round(bare_seconds, 3),
        "concurrency": concurrency,
        "poll_seconds": poll_seconds,
    }
    slack_figures = {"idle_calls_per_cycle": round(idle_calls / max(1, len(groups) + 2), 3)}
    return console_figures, slack_figures


def bare_fetch(
    console: SandboxConsole, seeded: list[ScanTarget], concurrency: int, *, runs: int = 5
) -> float:
    """The median of ``runs`` bare httpx loops over ``seeded`` (seconds); run it while no
    bot asks the console anything.  One run moves by ±30 % on a shared machine."""
    seconds = [
        tools.bare_fetch_seconds_process(
            console.url, console.config.user, console.config.password, seeded, concurrency
        )
        for _ in range(runs)
    ]
    return statistics.median(seconds)


def console_scale(
    console: SandboxConsole,
    slack: SlackApiStandIn,
    *,
    images: int,
    channels: int,
    poll_seconds: float,
    cycles: int,
    concurrency: int,
    bot_env: Callable[[str], Mapping[str, str]],
    tmp: Path,
) -> dict[str, Any]:
    """Idle cycles of a bot of its own over ``images`` distinct images x ``channels``
    channels, every ``poll_seconds``; ``bot_env(database_url)`` is its environment."""
    seeded = [ScanTarget(repo=f"bench/scale{i}", tag="1.0") for i in range(images)]
    for target in seeded:
        console.start_on_demand_scan(target.repo, tag=target.tag, images=1000)
    db = f"sqlite:///{tmp / 'scale.db'}"
    env = dict(bot_env(db))
    env["SCANBOT_POLL_SECONDS"] = f"{poll_seconds:g}"
    env["PORT"] = str(tools.free_port())
    watches = tools.seed_watches(load_settings(env, only=None), seeded, channels)
    bare = bare_fetch(console, seeded, concurrency)
    bot = tools.Process(tools.bot_command(sys.executable), env, tmp / "scale-bot.log")
    try:
        url = f"http://127.0.0.1:{env['PORT']}"
        bot.wait_http(f"{url}/healthz", ok=lambda s: s == 200)
        before = tools.cycle_seconds_metric(url)
        figures, slack_figures = idle_cycles(
            console,
            slack,
            seeded,
            poll_seconds=poll_seconds,
            cycles=cycles,
            concurrency=concurrency,
            bare_seconds=bare,
        )
        figures["cycle_duration_seconds"] = tools.mean_cycle_seconds(
            before, tools.cycle_seconds_metric(url)
        )
        figures["watches"] = watches
        figures["channels"] = channels
        figures["idle_slack_calls_per_cycle"] = slack_figures["idle_calls_per_cycle"]
        figures["rss_mb"] = tools.memory_mb(bot.pid)["peak"]
        return figures
    finally:
        bot.stop()
