"""The bench's phase at Slack's limits: many scans completing within a minute.

The bot (built in this process, scheduler and sender running) follows ``watches`` scans in
``channels`` channels against a Slack stand-in that enforces Slack's published limits; the
simulated console runs in a process of its own (its CPU is not the bot's).
The parents are posted before the bot starts (the stand-in's limits paused meanwhile), so
the phase measures only what happens when the scans end: they complete spread evenly
over ``spread`` seconds.  Figures:

* the time from the console's final answer (the poll that saw the scan end) to the final
  reply's arrival in Slack, p50/p99/max, beside the least the per-channel post limit
  allows for that same schedule (a token bucket at Slack's published rate and burst);
* the sender's part of it: from the final reply being owed (stored with the watch's end)
  to its arrival, beside the least the limit allows for *that* schedule.  The rest is the
  poll cycle that saw the end finishing (its fetch of every image first);
* the 429s Slack answered (the bot budgets itself: the target is 0);
* parent refresh: the longest a parent waited for an edit that was sent, beside
  ``ceil(watches / edit budget)`` minutes, and the oldest edit still owed at the end.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from slack_sdk import WebClient

from bench import tools
from bot.config.settings import load_settings
from bot.console.client import ConsoleClient
from bot.delivery.budget import METHOD_LIMITS
from bot.domain import owed
from bot.domain.events import ParentView
from bot.domain.images import ScanTarget
from bot.domain.owed import FINAL_PRIORITY, watch_thread
from bot.domain.ports import utc_now
from bot.domain.progress import snapshot
from bot.runtime import build_runtime
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.limits import POST_PER_CHANNEL, SlackLimits
from bot.store import Store
from bot.store.tables import outbox, threads

TOKEN = "xoxb-bench-token"  # noqa: S105 - accepted only by the local stand-in
LEAD = 10.0  # seconds from the bot's start to the first completion (by default)


def least_waits(finals: list[float], per_minute: float, burst: float) -> list[float]:
    """For final answers at ``finals`` (seconds, one channel), the least each reply must
    wait under a token bucket of ``per_minute`` and ``burst`` (full at the first answer)."""
    waits: list[float] = []
    tokens, at = burst, None
    rate = per_minute / 60.0
    for final in sorted(finals):
        now = final if at is None else max(final, at)
        tokens = burst if at is None else min(burst, tokens + (now - at) * rate)
        if tokens < 1.0:
            now += (1.0 - tokens) / rate
            tokens = 1.0
        tokens -= 1.0
        at = now
        waits.append(now - final)
    return waits


def completions_at_limits(
    watches: int, channels: int, *, spread: float, poll_seconds: float, lead: float = LEAD
) -> dict[str, Any]:
    """Run the phase once; its figures."""
    limits = SlackLimits(paused=True)
    seed_seconds = 2.0 + watches * 0.01
    ends = [seed_seconds + lead + spread * i / max(1, watches - 1) for i in range(watches)]
    with (
        tempfile.TemporaryDirectory(prefix="scanbot-limits-") as tmp,
        _console_process(ends) as console,
        SlackApiStandIn(token=TOKEN, rate_limits=limits).start() as slack,
    ):
        settings = load_settings(
            {},
            prisma_console_url=console.url,
            prisma_user=console.config.user,
            prisma_password=console.config.password,
            slack_bot_token=TOKEN,
            slack_signing_secret="bench-signing-secret",  # noqa: S106 - loopback only
            slack_api_url=slack.api_url,
            scanbot_database_url=f"sqlite:///{Path(tmp) / 'scanbot.db'}",
            scanbot_poll_seconds=poll_seconds,
            scanbot_thread_update_seconds=0,
        )
        parents = _seed(slack=slack, settings=settings, watches=watches, channels=channels)
        limits.reset()
        limits.paused = False
        runtime = build_runtime(settings, token_verification=False)
        started = time.time()
        runtime.start()
        try:
            done = _wait_for_finals(slack, parents, timeout=lead + spread + 60 + watches * 1.5)
        finally:
            runtime.shutdown()
        return _figures(
            watches=watches,
            channels=channels,
            parents=parents,
            final_at=console.final_answers(),
            done=done,
            slack=slack,
            settings=settings,
            started=started,
        )


class _ConsoleProcess:
    """The simulated console in a process of its own (its CPU is not the bot's), with one
    on-demand scan per watch ending at the given offsets, noting when it first answers a
    scan's final entry."""

    def __init__(self, url: str, config: SandboxConsoleConfig, pipe: Connection) -> None:
        self.url = url
        self.config = config
        self._pipe = pipe

    def final_answers(self) -> dict[str, float]:
        """Image key -> when (wall clock) the console first answered its final entry."""
        self._pipe.send("finals")
        answers: dict[str, float] = self._pipe.recv()
        return answers


@contextlib.contextmanager
def _console_process(ends: list[float]) -> Iterator[_ConsoleProcess]:
    with tools.console_in_child(_serve_console, ends) as (url, config, pipe):
        yield _ConsoleProcess(url, config, pipe)


def _serve_console(ends: list[float], pipe: Connection) -> None:
    """The child process: start the scans, answer, and tell when each was first final."""
    with SandboxConsole(SandboxConsoleConfig(step_seconds=1e9)).start() as console:
        for i, target in enumerate(_targets(len(ends))):
            console.start_on_demand_scan(
                target.repo, tag=target.tag, images=1, step_seconds=ends[i] / 2
            )
        final_at: dict[str, float] = {}
        state = console._state  # the bench's own stand-in
        answer = state.on_demand_progress
        lock = threading.Lock()

        def recorded(ref: Any) -> list[dict[str, Any]]:
            entries = answer(ref)
            if entries and not entries[0].get("isScanOngoing", True):
                with lock:
                    final_at.setdefault(f"{ref.repo}:{ref.tag}", time.time())
            return entries

        state.on_demand_progress = recorded  # type: ignore[method-assign]
        pipe.send((console.url, console.config.user, console.config.password))
        while (message := pipe.recv()) != "stop":
            if message == "finals":
                with lock:
                    pipe.send(dict(final_at))


def _targets(watches: int) -> list[ScanTarget]:
    return [ScanTarget(repo=f"bench/limit{i}", tag="1.0") for i in range(watches)]


def _seed(
    *,
    slack: SlackApiStandIn,
    settings: Any,
    watches: int,
    channels: int,
) -> dict[str, tuple[str, str]]:
    """Open the watches with their parents posted; parent ts -> (channel, image key)."""
    targets = _targets(watches)
    store = Store(settings.scanbot_database_url)
    store.migrate()
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    parents: dict[str, tuple[str, str]] = {}
    try:
        with ConsoleClient.from_settings(settings) as api:
            for i, target in enumerate(targets):
                channel = f"CLIMIT{i % channels:03d}"
                snap = snapshot(api.progress(target))
                now = utc_now()
                watch, _ = store.create_watch(
                    target=target,
                    channel_id=channel,
                    requester_id="U0BENCH",
                    now=now,
                    snapshot=snap,
                    owe=lambda new: [
                        owed.parent(
                            watch_thread(new.id),
                            new.channel_id,
                            ParentView.of(new, snap, now=now),  # noqa: B023
                        )
                    ],
                )
                ts = str(client.chat_postMessage(channel=channel, text=target.key)["ts"])
                (entry,) = store.pending(watch_thread(watch.id))
                store.mark_sent(entry, ts=ts, now=now)  # as the sender would
                parents[ts] = (channel, target.key)
    finally:
        store.close()
    return parents


def _wait_for_finals(
    slack: SlackApiStandIn, parents: dict[str, tuple[str, str]], *, timeout: float
) -> dict[str, float]:
    """Parent ts -> arrival (wall clock) of its final reply, as they come, until all did."""
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while len(done) < len(parents) and time.monotonic() < deadline:
        for call in slack.calls_to("chat.postMessage"):
            thread = str(call.params.get("thread_ts") or "")
            if thread in parents and thread not in done and _is_final(call.params):
                done[thread] = call.at
        pause.wait(0.5)
    return done


def _is_final(params: dict[str, Any]) -> bool:
    text = str(params.get("text", "")).lower()
    return "complete" in text or "failed" in text


def _figures(
    *,
    watches: int,
    channels: int,
    parents: dict[str, tuple[str, str]],
    final_at: dict[str, float],
    done: dict[str, float],
    slack: SlackApiStandIn,
    settings: Any,
    started: float,
) -> dict[str, Any]:
    waits: list[float] = []
    finals_by_channel: dict[str, list[float]] = {}
    for ts, (channel, key) in parents.items():
        if key in final_at:
            finals_by_channel.setdefault(channel, []).append(final_at[key])
            if ts in done:
                waits.append(max(0.0, done[ts] - final_at[key]))
    least = [
        wait
        for finals in finals_by_channel.values()
        for wait in least_waits(finals, POST_PER_CHANNEL.per_minute, POST_PER_CHANNEL.burst)
    ]
    edit_budget = METHOD_LIMITS["chat.update"].per_minute
    owed_waits, owed_least = _from_owed(settings.scanbot_database_url, parents, done)
    return {
        "watches": watches,
        "channels": channels,
        "completed": len(done),
        "final_reply_ms": tools.summary_ms([w * 1000 for w in waits]),
        "least_allowed_ms": tools.summary_ms([w * 1000 for w in least]),
        "owed_to_slack_ms": tools.summary_ms([w * 1000 for w in owed_waits]),
        "owed_least_allowed_ms": tools.summary_ms([w * 1000 for w in owed_least]),
        "slack_429": sum(slack.rate_limited.values()),
        "slack_429_by_method": slack.rate_limited,
        "edit_budget_per_minute": edit_budget,
        "refresh_bound_minutes": math.ceil(watches / edit_budget),
        **_staleness(settings.scanbot_database_url, since=started),
    }


def _from_owed(
    database_url: str, parents: dict[str, tuple[str, str]], done: dict[str, float]
) -> tuple[list[float], list[float]]:
    """The sender's part: from the final reply being owed (stored in the outbox) to its
    arrival in Slack, and the least the per-channel post limit allows for that schedule."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(threads.c.parent_ts, outbox.c.created_at)
                .join(threads, threads.c.key == outbox.c.thread_key)
                .where(outbox.c.kind == "reply", outbox.c.priority == FINAL_PRIORITY)
            ).all()
    finally:
        engine.dispose()
    waits: list[float] = []
    owed_by_channel: dict[str, list[float]] = {}
    for parent_ts, created_at in rows:
        if parent_ts not in parents:
            continue
        owed_at = created_at.replace(tzinfo=UTC).timestamp()
        owed_by_channel.setdefault(parents[parent_ts][0], []).append(owed_at)
        if parent_ts in done:
            waits.append(max(0.0, done[parent_ts] - owed_at))
    least = [
        wait
        for owed_times in owed_by_channel.values()
        for wait in least_waits(owed_times, POST_PER_CHANNEL.per_minute, POST_PER_CHANNEL.burst)
    ]
    return waits, least


def _staleness(database_url: str, *, since: float) -> dict[str, Any]:
    """The longest a parent waited for an edit that was sent; the oldest one still owed."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(outbox.c.state, outbox.c.created_at, outbox.c.sent_at).where(
                    outbox.c.kind == "edit"
                )
            ).all()
    finally:
        engine.dispose()
    now = utc_now()
    sent = [(r.sent_at - r.created_at).total_seconds() for r in rows if r.sent_at is not None]
    owed = [
        (now - r.created_at.replace(tzinfo=now.tzinfo)).total_seconds()
        for r in rows
        if r.state == "pending"
    ]
    return {
        "edits_sent": len(sent),
        "edits_owed_at_end": len(owed),
        "max_staleness_seconds": round(max(sent, default=0.0), 1),
        "oldest_owed_seconds": round(max(owed, default=0.0), 1),
        "phase_seconds": round(time.time() - since, 1),
    }
