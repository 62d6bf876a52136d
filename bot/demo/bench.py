"""``scanbot bench``: the figures of issue 9, measured against loopback stand-ins.

The simulated console and the Slack stand-in run in this process; the bot runs as a
process (``python -m bot run``) with a database pre-seeded with open watches (store API),
and a minimal bolt app (:mod:`bot.demo.bolt_baseline`) runs as another process for the ack
baseline.  Measured: start-up to ``/healthz`` 200; console requests per distinct image per
cycle and the cycle's fetch span beside a bare httpx loop; Slack calls while idle; peak RSS
with the seeded watches; ack p50/p99/max at concurrency 1 and 20 for ``help`` and follows,
bot and baseline; Slack calls per change.  Nothing is asserted; targets are only reported.
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
from typing import Any

from bot.demo import bench_tools as tools
from bot.demo.bench_phases import bursts, busy_channel, follow_outcomes
from bot.images import ScanTarget
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.settings import load_settings

SECRET = "bench-signing-secret"  # noqa: S105 - loopback only
TOKEN = "xoxb-bench-token"  # noqa: S105 - accepted only by the local stand-in
FROZEN = 1e9  # step seconds of scans that must not move during the run
MB_TARGET = 150.0
STARTUP_TARGET = 2.0
ACK_RATIO_TARGET = 1.5


@dataclass(frozen=True)
class BenchConfig:
    """Sizes of one run."""

    images: int = 200  # distinct images of the seeded watches
    watches: int = 10_000  # seeded open watches (images x channels)
    poll_seconds: float = 2.0
    idle_cycles: int = 3
    console_concurrency: int = 4  # the bot's default SCANBOT_CONSOLE_CONCURRENCY
    acks_c1: int = 200
    acks_c20: int = 1000
    change_watches: int = 5
    change_steps: tuple[int, int] = (1, 2)  # discovery items, images
    change_step_seconds: float = 2.5
    burst: int = 200  # follows sent at once, each from its own channel
    hang_seconds: float = 5.0  # how long each console request hangs in that phase
    busy_step_seconds: float = 2.0  # a step of the busy channel's scans
    busy_channel: int = 10  # watches in one channel whose scans all move in one cycle
    degraded: int = 200  # help and follows while Slack answers 429 / the console hangs

    @classmethod
    def tiny(cls) -> BenchConfig:
        return cls(
            images=4,
            watches=40,
            poll_seconds=1.0,
            idle_cycles=2,
            acks_c1=5,  # few follows: the console's GET /registry allows 30 per 30 s
            acks_c20=20,
            change_watches=2,
            change_steps=(1, 1),
            change_step_seconds=1.5,
            burst=10,
            degraded=10,
            busy_channel=2,
            busy_step_seconds=0.8,
            hang_seconds=1.0,
        )


def _bot_env(console: SandboxConsole, slack: SlackApiStandIn, db: str, cfg: BenchConfig) -> Any:
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


def _progress(console: SandboxConsole) -> list[Any]:
    return [r for r in console.requests if r.path.endswith("/registry/progress")]


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
        console.clear_requests()
        baseline_port = tools.free_port()
        baseline = tools.Process(
            [
                sys.executable,
                "-m",
                "bot.demo.bolt_baseline",
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
            result["console"], result["slack"] = _idle_cycles(cfg, console, slack, seeded)
            result["console"]["cycle_seconds"] = tools.cycle_period_seconds(
                bot.log_path, since=idle_from, until=time.time()
            )
            result["console"]["cycle_duration_seconds"] = tools.mean_cycle_seconds(
                cycles_before, tools.cycle_seconds_metric(url)
            )
            result["rss_mb"] = {"watches": watches, **tools.memory_mb(bot.pid)}
            clock = tools.PhaseClock()
            result["phase_seconds"] = clock.seconds
            result["ack_ms"] = _acks(cfg, console, slack, url, baseline_port)
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
                secret=SECRET,
                burst=cfg.burst,
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
    result["targets"] = targets(result)
    return result


def _idle_cycles(
    cfg: BenchConfig, console: SandboxConsole, slack: SlackApiStandIn, seeded: list[ScanTarget]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Whole poll cycles over the seeded watches, whose scans do not move."""
    console.clear_requests()
    slack.clear()
    wanted = cfg.idle_cycles + 2  # the first and the last may be cut by the window
    tools.wait_until(
        lambda: len(tools.cycles_of(_progress(console), cfg.poll_seconds / 2)) > wanted,
        timeout=cfg.poll_seconds * (wanted + 2) + 120,
    )
    groups = tools.cycles_of(_progress(console), cfg.poll_seconds / 2)[1:-1] or [[]]
    requests = sum(len(g) for g in groups)
    images = len(seeded)
    spans = [g[-1].at - g[0].at for g in groups if g]
    bare = tools.bare_fetch_seconds(
        console.url, console.config.user, console.config.password, seeded, cfg.console_concurrency
    )
    idle_calls = len(slack.calls)
    console_figures = {
        "images": images,
        "cycles": len(groups),
        "requests_per_image_per_cycle": round(requests / (images * len(groups)), 3),
        "cycle_fetch_seconds": round(max(spans, default=0.0), 3),
        "bare_httpx_seconds": round(bare, 3),
        "concurrency": cfg.console_concurrency,
    }
    slack_figures = {"idle_calls_per_cycle": round(idle_calls / max(1, len(groups) + 2), 3)}
    return console_figures, slack_figures


def _acks(
    cfg: BenchConfig, console: SandboxConsole, slack: SlackApiStandIn, url: str, baseline: int
) -> dict[str, Any]:
    """Ack latencies of the bot and of the minimal bolt app, for help and follows."""
    bot_url, base_url = f"{url}/slack/events", f"http://127.0.0.1:{baseline}/slack/events"
    respond = slack.response_url("bench")
    figures: dict[str, Any] = {"scanbot": {}, "minimal_bolt": {}}
    follow_id = 0
    for name, count, concurrency in (("c1", cfg.acks_c1, 1), ("c20", cfg.acks_c20, 20)):
        helps = [("CHELP", "help")] * count
        follows: list[tuple[str, str]] = []
        for _ in range(count):
            follow_id += 1
            console.start_on_demand_scan(f"bench/follow{follow_id}", tag="1.0", images=1000)
            follows.append((f"CF{follow_id:05d}", f"bench/follow{follow_id}:1.0"))
        for who, target in (("scanbot", bot_url), ("minimal_bolt", base_url)):
            for kind, texts in (("help", helps), ("follow", follows)):
                samples = tools.command_burst(
                    target, SECRET, texts, concurrency=concurrency, response_url=respond
                )
                figures[who].setdefault(kind, {})[name] = tools.summary_ms(samples)
    figures["follows_answered"] = follow_outcomes(slack, follow_id, "bench")
    return figures


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


def targets(result: dict[str, Any]) -> dict[str, Any]:
    """Issue 9's targets, met or missed, from ``result``'s figures."""
    acks = result["ack_ms"]
    out: dict[str, Any] = {}
    for kind in ("help", "follow"):
        for level in ("c1", "c20"):
            bot, base = (
                acks["scanbot"][kind][level]["p99"],
                acks["minimal_bolt"][kind][level]["p99"],
            )
            ratio = round(bot / base, 2) if base else None
            out[f"ack_p99_{kind}_{level}_vs_bolt"] = {
                "ratio": ratio,
                "met": ratio is not None and ratio <= ACK_RATIO_TARGET,
            }
    burst = acks["scanbot"]["follow_burst"]
    out["follow_burst_max_under_3s"] = {"max_ms": burst["max"], "met": burst["max"] < 3000}
    for phase in ("slack_429", "console_hanging"):
        worst = max(acks["scanbot"][phase][kind]["max"] for kind in ("help", "follow"))
        out[f"acks_while_{phase}_under_3s"] = {"max_ms": worst, "met": worst < 3000}
    duration = result["console"].get("cycle_duration_seconds")
    poll = result["config"]["poll_seconds"]
    out["cycle_under_poll_interval"] = {"met": duration is not None and duration < poll}
    rate = result["console"]["requests_per_image_per_cycle"]
    out["console_requests_per_image_per_cycle"] = {"value": rate, "met": rate == 1.0}
    fetch = result["console"]["cycle_fetch_seconds"]
    bare = result["console"]["bare_httpx_seconds"]
    out["fetch_vs_bare_httpx"] = {
        "throughput_ratio": round(bare / fetch, 2) if fetch else None,
        "met": bool(fetch) and bare / fetch >= 0.9,
    }
    out["idle_slack_calls"] = {"met": result["slack"]["idle_calls_per_cycle"] == 0}
    out["rss_mb"] = {"met": 0 < result["rss_mb"]["peak"] <= MB_TARGET}
    out["startup_seconds"] = {"met": result["startup_seconds"] < STARTUP_TARGET}
    return out


def render_table(result: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    m, t = result["machine"], result["targets"]
    lines = [
        f"machine: {m['platform']}, {m['cpu_count']} CPUs, Python {m['python']}",
        f"{'figure':<52} {'value':>24}  target",
    ]

    def row(name: str, value: str, met: bool | None = None) -> None:
        mark = "" if met is None else ("met" if met else "MISSED")
        lines.append(f"{name:<52} {value:>24}  {mark}")

    for kind in ("help", "follow"):
        for level in ("c1", "c20"):
            bot = result["ack_ms"]["scanbot"][kind][level]
            base = result["ack_ms"]["minimal_bolt"][kind][level]
            met = t[f"ack_p99_{kind}_{level}_vs_bolt"]["met"]
            row(
                f"ack {kind} {level} n={bot['n']} p50/p99/max ms",
                f"{bot['p50']:.1f}/{bot['p99']:.1f}/{bot['max']:.1f}",
                met,
            )
            row(
                "  minimal bolt app, same requests",
                f"{base['p50']:.1f}/{base['p99']:.1f}/{base['max']:.1f}",
            )
    bot = result["ack_ms"]["scanbot"]
    b = bot["follow_burst"]
    row(
        f"ack follow burst n={b['n']} all at once p50/p99/max ms",
        f"{b['p50']:.1f}/{b['p99']:.1f}/{b['max']:.1f}",
        t["follow_burst_max_under_3s"]["met"],
    )
    for phase, label in (("slack_429", "Slack answers 429"), ("console_hanging", "console hangs")):
        for kind in ("help", "follow"):
            d = bot[phase][kind]
            row(
                f"ack {kind} c20 n={d['n']} while {label}, p50/p99/max ms",
                f"{d['p50']:.1f}/{d['p99']:.1f}/{d['max']:.1f}",
                t[f"acks_while_{phase}_under_3s"]["met"],
            )
    c = result["console"]
    row(
        f"console requests per image per cycle ({c['images']} images)",
        f"{c['requests_per_image_per_cycle']:.3f}",
        t["console_requests_per_image_per_cycle"]["met"],
    )
    row(
        f"cycle fetch span s (concurrency {c['concurrency']})",
        f"{c['cycle_fetch_seconds']:.3f}",
        t["fetch_vs_bare_httpx"]["met"],
    )
    row("  bare httpx loop, same requests, s", f"{c['bare_httpx_seconds']:.3f}")
    period = c.get("cycle_seconds")
    row(
        f"cycle period s (poll every {result['config']['poll_seconds']:g} s)",
        "n/a" if period is None else f"{period:.3f}",
    )
    duration = c.get("cycle_duration_seconds")
    row(
        "poll cycle duration s (mean, /metrics)",
        "n/a" if duration is None else f"{duration:.3f}",
        t["cycle_under_poll_interval"]["met"],
    )
    s = result["slack"]
    row(
        "Slack calls per cycle while idle",
        f"{s['idle_calls_per_cycle']:.3f}",
        t["idle_slack_calls"]["met"],
    )
    row(f"Slack calls per change ({s['changes']} changes)", f"{s['calls_per_change']:.3f}")
    busy = s["busy_channel"]
    row(
        f"one channel, {busy['watches']} watches moving together: edits sent/owed",
        f"{busy['edits_sent']}/{busy['edits_owed']}",
    )
    row(
        "  mean wait s, completions / other replies",
        f"{busy['final_wait_seconds']:.1f} / {busy['reply_wait_seconds']:.1f}",
    )
    r = result["rss_mb"]
    row(f"peak RSS MB with {r['watches']} open watches", f"{r['peak']:.1f}", t["rss_mb"]["met"])
    row("  peak RSS MB at the end (after the follows)", f"{r['peak_at_end']:.1f}")
    row(
        "start-up to /healthz 200, s",
        f"{result['startup_seconds']:.3f}",
        t["startup_seconds"]["met"],
    )
    return "\n".join(lines)


def run_bench_command(*, tiny: bool, as_json: bool) -> int:
    """``scanbot bench``: run, then print the table or the JSON document."""
    result = run_bench(BenchConfig.tiny() if tiny else BenchConfig())
    print(json.dumps(result, indent=2) if as_json else render_table(result))
    return 0
