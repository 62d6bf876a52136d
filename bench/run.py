"""``python -m bench``: the performance figures, measured against loopback stand-ins.

The simulated console and the Slack stand-in run in this process; the bot runs as a
process (``python -m bot run``) with a database pre-seeded with open watches, a minimal
bolt app (:mod:`bench.bolt_baseline`) runs as another process for the ack baseline, and
the requests of both come from a load generator process (:mod:`bench.loadgen`).
Measured: start-up to ``/healthz`` 200; console requests per distinct image per cycle and
the cycle's fetch span beside a bare httpx loop (:mod:`bench.console`, also for
1,000 images x 5 channels at the default poll interval, with a bot of its own); Slack calls
while idle; peak RSS with the seeded watches; ack p50/p99/max at concurrency 1 and 20 for
``help`` and follows, bot and baseline in interleaved rounds (:mod:`bench.acks`);
Slack calls per change; bursts and failures (:mod:`bench.phases`).  Nothing is
asserted; targets are only reported (:mod:`bench.report`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from bench import tools
from bench.acks import measure_acks
from bench.console import bare_fetch, console_scale, idle_cycles
from bench.limits import completions_at_limits
from bench.phases import bursts, busy_channel
from bench.report import render_table, targets
from bot.config.settings import Settings, load_settings
from bot.domain.images import ScanTarget
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn

SECRET = "bench-signing-secret"  # noqa: S105 - loopback only
TOKEN = "xoxb-bench-token"  # noqa: S105 - accepted only by the local stand-in
FROZEN = 1e9  # step seconds of scans that must not move during the run
DEFAULT_POLL_SECONDS = float(Settings.model_fields["scanbot_poll_seconds"].default)


@dataclass(frozen=True)
class BenchConfig:
    """Sizes of one run."""

    images: int = 200  # distinct images of the seeded watches
    watches: int = 10_000  # seeded open watches (images x channels)
    poll_seconds: float = 2.0
    idle_cycles: int = 5  # whole idle cycles measured (their median fetch span is reported)
    console_concurrency: int = 4  # the bot's default SCANBOT_CONSOLE_CONCURRENCY
    acks_c1: int = 200
    acks_c20: int = 1000
    ack_rounds: int = 4  # each ack figure in this many rounds, bot and baseline interleaved
    change_watches: int = 5
    change_steps: tuple[int, int] = (1, 2)  # discovery items, images
    change_step_seconds: float = 2.5
    burst: int = 200  # follows sent at once, each from its own channel
    burst_rounds: int = 2  # ... to the bot and to the bolt app, who goes first alternating
    hang_seconds: float = 5.0  # how long each console request hangs in that phase
    busy_step_seconds: float = 2.0  # a step of the busy channel's scans
    busy_channel: int = 10  # watches in one channel whose scans all move in one cycle
    degraded: int = 200  # help and follows while Slack answers 429 / the console hangs
    scale_images: int = 1000  # the second console configuration: distinct images ...
    scale_channels: int = 5  # ... followed from this many channels each ...
    scale_poll_seconds: float = DEFAULT_POLL_SECONDS  # ... at the default poll interval
    cycle_watches: int = 10_000  # unchanged open watches (of ``images``) for the cycle's CPU
    cycle_count: int = 7  # cycles measured each way (the median is shown)
    limit_watches: int = 1000  # scans completing within limit_spread seconds ...
    limit_channels: int = 20  # ... followed in this many channels (Slack's limits enforced)
    limit_spread: float = 60.0
    limit_one_channel: int = 200  # the same, all in one channel
    limit_lead: float = 10.0  # seconds from the bot's start to the first scan's end

    @classmethod
    def tiny(cls) -> BenchConfig:
        return cls(
            images=4,
            watches=40,
            poll_seconds=1.0,
            idle_cycles=2,
            acks_c1=5,  # few follows: the console's GET /registry allows 30 per 30 s
            acks_c20=20,
            ack_rounds=2,
            change_watches=2,
            change_steps=(1, 1),
            change_step_seconds=1.5,
            burst=10,
            degraded=10,
            busy_channel=2,
            busy_step_seconds=0.8,
            hang_seconds=1.0,
            scale_images=6,
            scale_channels=2,
            scale_poll_seconds=1.0,
            cycle_watches=40,
            cycle_count=3,
            limit_watches=6,
            limit_channels=2,
            limit_spread=3.0,
            limit_one_channel=4,
            limit_lead=2.0,
        )


class ConsoleAddress(Protocol):
    """Where the bot finds a simulated console (in this process or another)."""

    @property
    def url(self) -> str: ...

    @property
    def config(self) -> SandboxConsoleConfig: ...


def _bot_env(console: ConsoleAddress, slack: SlackApiStandIn, db: str, cfg: BenchConfig) -> Any:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PRISMA_", "SLACK_", "SCANBOT_"))
    }
    env.update(
        PRISMA_CONSOLE_URL=console.url,
        PRISMA_USER=console.config.user,
        PRISMA_PASSWORD=console.config.password,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        SCANBOT_DATABASE_URL=db,
        SCANBOT_POLL_SECONDS=f"{cfg.poll_seconds:g}",
        SCANBOT_THREAD_UPDATE_SECONDS="0",
        SCANBOT_CONSOLE_CONCURRENCY=str(cfg.console_concurrency),
        SCANBOT_LOG_LEVEL="INFO",
        PORT=str(tools.free_port()),
    )
    return env


def run_bench(cfg: BenchConfig) -> dict[str, Any]:
    """Run every measurement once; the figures as one JSON-able document."""
    per_image = max(1, cfg.watches // cfg.images)
    seeded = [ScanTarget(repo=f"bench/seed{i}", tag="1.0") for i in range(cfg.images)]
    result: dict[str, Any] = {"machine": tools.machine(), "config": asdict(cfg)}
    with (
        tempfile.TemporaryDirectory(prefix="scanbot-bench-") as tmp,
        SandboxConsole(SandboxConsoleConfig(step_seconds=FROZEN)).start() as console,
        SlackApiStandIn(token=TOKEN).start() as slack,
    ):
        db = f"sqlite:///{Path(tmp) / 'scanbot.db'}"
        env = _bot_env(console, slack, db, cfg)
        for target in seeded:
            console.start_on_demand_scan(target.repo, tag=target.tag, images=1000)
        settings = load_settings(env, only=None)
        watches = tools.seed_watches(settings, seeded, per_image)
        bare = bare_fetch(console, seeded, cfg.console_concurrency)  # before the bot starts
        console.clear_requests()
        baseline_port = tools.free_port()
        baseline = tools.Process(
            [
                sys.executable,
                "-m",
                "bench.bolt_baseline",
                str(baseline_port),
                SECRET,
                slack.api_url,
                TOKEN,
            ],
            dict(os.environ),
            Path(tmp) / "baseline.log",
        )
        bot = tools.Process(tools.bot_command(), env, Path(tmp) / "bot.log")
        try:
            url = f"http://127.0.0.1:{env['PORT']}"
            startup = bot.wait_http(f"{url}/healthz", ok=lambda s: s == 200)
            result["startup_seconds"] = round(startup, 3)
            baseline.wait_http(f"http://127.0.0.1:{baseline_port}/", ok=lambda s: s > 0)
            idle_from = time.time()
            cycles_before = tools.cycle_seconds_metric(url)
            result["console"], result["slack"] = idle_cycles(
                console,
                slack,
                seeded,
                poll_seconds=cfg.poll_seconds,
                cycles=cfg.idle_cycles,
                concurrency=cfg.console_concurrency,
                bare_seconds=bare,
            )
            result["console"]["cycle_seconds"] = tools.cycle_period_seconds(
                bot.log_path, since=idle_from, until=time.time()
            )
            result["console"]["cycle_duration_seconds"] = tools.mean_cycle_seconds(
                cycles_before, tools.cycle_seconds_metric(url)
            )
            result["rss_mb"] = {"watches": watches, **tools.memory_mb(bot.pid)}
            clock = tools.PhaseClock()
            result["phase_seconds"] = clock.seconds
            result["ack_ms"] = measure_acks(
                console,
                slack,
                secret=SECRET,
                bot_url=url,
                baseline_url=f"http://127.0.0.1:{baseline_port}",
                levels=(("c1", cfg.acks_c1, 1), ("c20", cfg.acks_c20, 20)),
                rounds=cfg.ack_rounds,
            )
            clock.lap("acks")
            result["slack"].update(_changes(cfg, console, slack, url))
            clock.lap("changes")
            result["slack"]["busy_channel"] = busy_channel(
                cfg.busy_channel,
                console,
                slack,
                url=url,
                secret=SECRET,
                db=db,
                step=cfg.busy_step_seconds,
            )
            clock.lap("busy_channel")
            phases = bursts(
                console,
                slack,
                url=url,
                baseline_url=f"http://127.0.0.1:{baseline_port}",
                secret=SECRET,
                burst=cfg.burst,
                rounds=cfg.burst_rounds,
                degraded=cfg.degraded,
                hang_seconds=cfg.hang_seconds,
            )
            result["ack_ms"]["scanbot"].update(phases)
            clock.lap("bursts")
            result["rss_mb"]["peak_at_end"] = tools.memory_mb(bot.pid)["peak"]
        finally:
            bot.stop()
            baseline.stop()
            if "phase_seconds" in result:
                clock.lap("stop")
        if cfg.scale_images:  # the second console configuration, a bot of its own
            result["console_scale"] = console_scale(
                console,
                slack,
                images=cfg.scale_images,
                channels=cfg.scale_channels,
                poll_seconds=cfg.scale_poll_seconds,
                cycles=cfg.idle_cycles,
                concurrency=cfg.console_concurrency,
                bot_env=lambda database_url: _bot_env(console, slack, database_url, cfg),
                tmp=Path(tmp),
            )
            clock.lap("console_scale")
    result.update(_phases_of_their_own(cfg))
    result["targets"] = targets(result)
    return result


def _phases_of_their_own(cfg: BenchConfig) -> dict[str, Any]:
    """The phases that build their own bot: the cycle's CPU, then Slack's limits."""
    figures: dict[str, Any] = {}
    if cfg.cycle_watches:  # the poll cycle's CPU, the console in a process of its own
        figures["cycle_cpu"] = _cycle_cpu(cfg)
    if cfg.limit_watches:  # at Slack's limits: completions, 429s, parent refresh
        figures["at_limits"] = _at_limits(cfg)
    return figures


def _cycle_cpu(cfg: BenchConfig) -> dict[str, Any]:
    """CPU of a poll cycle over many unchanged watches, kept and read every cycle."""
    from bench import cycle_profile  # noqa: PLC0415 - it builds on this module

    with tempfile.TemporaryDirectory(prefix="scanbot-cycle-") as tmp:
        cycle_profile.seed(Path(tmp), cfg.images, cfg.cycle_watches)
        figures = cycle_profile.measure(Path(tmp), cfg.cycle_count)
    return {"watches": cfg.cycle_watches, "images": cfg.images, **figures}


def _at_limits(cfg: BenchConfig) -> dict[str, Any]:
    """Scans ending within a minute against Slack's limits: many channels, then one."""
    return {
        name: completions_at_limits(
            watches,
            channels,
            spread=cfg.limit_spread,
            poll_seconds=cfg.poll_seconds,
            lead=cfg.limit_lead,
        )
        for name, watches, channels in (
            ("spread", cfg.limit_watches, cfg.limit_channels),
            ("one_channel", cfg.limit_one_channel, 1),
        )
    }


def _changes(
    cfg: BenchConfig, console: SandboxConsole, slack: SlackApiStandIn, url: str
) -> dict[str, Any]:
    """Follow scans that move one item per step; Slack calls per change of their progress."""
    discovery, images = cfg.change_steps
    channels = [f"CCHANGE{i}" for i in range(cfg.change_watches)]
    texts = []
    for i, channel in enumerate(channels):
        console.start_on_demand_scan(
            f"bench/change{i}",
            tag="1.0",
            discovery_total=discovery,
            images=images,
            step_seconds=cfg.change_step_seconds,
            when_asked=True,
        )
        texts.append((channel, f"bench/change{i}:1.0"))
    retries = _follow_until_posted(slack, url, texts)

    def complete() -> bool:
        done = 0
        for channel in channels:
            parents = slack.messages(channel)
            replies = slack.thread(channel, parents[0]["ts"]) if parents else []
            done += any("complete" in json.dumps(r).lower() for r in replies)
        return done == len(channels)

    finished = tools.wait_until(
        complete, timeout=(discovery + images + 4) * cfg.change_step_seconds + 60
    )
    calls = [
        c
        for c in slack.calls
        if c.params.get("channel") in channels and c.method in ("chat.postMessage", "chat.update")
    ]
    changes = cfg.change_watches * (discovery + images)
    return {
        "changes": changes,
        "calls_after_parent": len(calls) - cfg.change_watches,
        "calls_per_change": round((len(calls) - cfg.change_watches) / changes, 3),
        "change_scans_completed": finished,
        "follows_sent_again": retries,
    }


def _answered(slack: SlackApiStandIn, texts: list[tuple[str, str]], hook: str) -> Any:
    """A condition: every follow of ``texts`` got a parent or an answer at ``hook``."""

    def condition() -> bool:
        posted = sum(bool(slack.messages(channel)) for channel, _ in texts)
        return posted + len(slack.responses_to(hook)) >= len(texts)

    return condition


def _follow_until_posted(slack: SlackApiStandIn, url: str, texts: list[tuple[str, str]]) -> int:
    """Follow each ``(channel, text)``; a follow answered with an error instead of a parent
    (the console asked scanbot to slow down after the ack phase) is sent again, up to 5
    times, 3 s apart.  Returns how many were sent again."""
    retries = 0
    pending = list(texts)
    for attempt in range(6):
        if attempt:
            threading.Event().wait(3.0)
            retries += len(pending)
        hook = f"change{attempt}"
        events = f"{url}/slack/events"
        response_url = slack.response_url(hook)
        tools.command_burst(events, SECRET, pending, concurrency=1, response_url=response_url)
        tools.wait_until(_answered(slack, pending, hook), timeout=30)
        pending = [(ch, text) for ch, text in pending if not slack.messages(ch)]
        if not pending:
            break
    return retries


def run_bench_command(*, tiny: bool, as_json: bool) -> int:
    """``python -m bench``: run, then print the table or the JSON document."""
    result = run_bench(BenchConfig.tiny() if tiny else BenchConfig())
    print(json.dumps(result, indent=2) if as_json else render_table(result))
    return 0
