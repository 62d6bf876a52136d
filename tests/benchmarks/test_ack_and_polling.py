"""Benchmarks (excluded by default; run with ``pytest -m benchmark -s``).

They print figures; they never assert on time.  Targets: slash-command ack p99 under
50 ms; exactly one console request per distinct image per poll cycle.  Requests go over
one keep-alive connection, as Slack's do.  Note: bolt (process_before_response=False)
waits for ``ack()`` by polling every 10 ms, which sets the floor of the ack latency.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from bot.domain.images import ScanTarget
from bot.domain.progress import snapshot
from tests.support.harness import running_bot

pytestmark = pytest.mark.benchmark


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def report(name: str, samples_ms: list[float]) -> None:
    print(
        f"\n{name}: n={len(samples_ms)} p50={statistics.median(samples_ms):.1f} ms "
        f"p95={percentile(samples_ms, 95):.1f} ms p99={percentile(samples_ms, 99):.1f} ms "
        f"max={max(samples_ms):.1f} ms (target: p99 < 50 ms)"
    )


def test_slash_command_ack_latency(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=50)
        for text, name in (
            ("help", "ack /scanprogress help"),
            ("alpine:3.16", "ack /scanprogress alpine:3.16"),
        ):
            samples: list[float] = []
            for _ in range(200):
                started = time.perf_counter()
                response = bot.command(text)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            report(name, samples)


def test_console_requests_per_poll_cycle(tmp_path: Path) -> None:
    images = [ScanTarget(repo=f"team/app{i}", tag="1.0") for i in range(10)]
    with running_bot(tmp_path) as bot:
        store = bot.runtime.store
        for target in images:
            bot.console.start_on_demand_scan(target.repo, tag=target.tag, images=1000)
        for channel in range(30):
            for target in images:
                watch, _ = store.create_watch(
                    target=target,
                    channel_id=f"C{channel:04d}",
                    requester_id="U0ALICE",
                    now=bot.clock(),
                )
                snap = snapshot(bot.runtime.console.progress(target))
                store.record_progress(
                    watch.id,
                    snapshot=snap,
                    saw_running=True,
                    thread_posted_at=None,
                    now=bot.clock(),
                )
                store.activate(watch.id, parent_ts=f"1.{watch.id:06d}", now=bot.clock())
        bot.console.clear_requests()
        cycles = []
        for _ in range(3):
            started = time.perf_counter()
            result = bot.poll()
            cycles.append((time.perf_counter() - started) * 1000)
            print(
                f"\npoll cycle: {result.watches} watches, {result.images} distinct images, "
                f"{result.console_requests} console requests, {cycles[-1]:.0f} ms"
            )
            assert result.console_requests == len(images)
        progress = [r for r in bot.console.requests if r.path.endswith("/registry/progress")]
        print(
            f"console progress requests over 3 cycles: {len(progress)} (expected {3 * len(images)})"
        )
        assert len(progress) == 3 * len(images)
