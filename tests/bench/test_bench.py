"""``python -m bench --tiny --json`` runs end to end and reports every figure (no timed asserts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import render_table

#: A few minutes of work: out of the default suite; CI runs it as a step of its own.
pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]


def test_scanbot_bench_tiny_json_reports_every_figure_and_the_machine() -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PRISMA_", "SLACK_", "SCANBOT_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"platform", "cpu_count", "python"} <= set(doc["machine"])
    for who in ("scanbot", "minimal_bolt"):
        for kind in ("help", "follow"):
            for level in ("c1", "c20"):
                figures = doc["ack_ms"][who][kind][level]
                assert figures["n"] > 0
                assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
                # measured in rounds, bot and baseline interleaved
                assert len(figures["round_p99"]) == doc["config"]["ack_rounds"]
    bot = doc["ack_ms"]["scanbot"]
    for who in ("follow_burst", "follow_burst_bolt"):  # all at once, bot and bolt, in rounds
        burst = bot[who]
        assert burst["n"] == doc["config"]["burst"] * doc["config"]["burst_rounds"]
        assert burst["concurrency"] == doc["config"]["burst"]
        assert len(burst["round_p99"]) == doc["config"]["burst_rounds"]
        assert 0 < burst["p50"] <= burst["p99"] <= burst["max"]
    for phase in ("slack_429", "console_hanging"):  # acks while Slack or the console fail
        for kind in ("help", "follow"):
            assert bot[phase][kind]["n"] == doc["config"]["degraded"]
    console = doc["console"]
    assert console["cycles"] >= 1
    assert console["requests_per_image_per_cycle"] > 0
    assert console["cycle_fetch_seconds"] >= 0
    assert console["bare_httpx_seconds"] > 0
    assert console["cycle_duration_seconds"] > 0  # from the bot's /metrics
    scale = doc["console_scale"]  # the second configuration, with a bot of its own
    assert scale["images"] == doc["config"]["scale_images"]
    assert scale["watches"] == scale["images"] * doc["config"]["scale_channels"]
    assert scale["poll_seconds"] == doc["config"]["scale_poll_seconds"]
    assert scale["cycles"] >= 1
    assert scale["requests_per_image_per_cycle"] > 0
    assert scale["bare_httpx_seconds"] > 0
    slack = doc["slack"]
    assert slack["idle_calls_per_cycle"] >= 0
    assert slack["change_scans_completed"] is True
    assert slack["calls_per_change"] > 0
    assert doc["rss_mb"]["watches"] == doc["config"]["watches"]
    assert doc["rss_mb"]["peak"] > 0
    assert doc["startup_seconds"] > 0
    assert set(doc["targets"]) >= {
        "console_requests_per_image_per_cycle",
        "console_requests_per_image_per_cycle_scale",
        "fetch_vs_bare_httpx_scale",
        "rss_mb",
        "startup_seconds",
        "ack_p99_follow_c20_vs_bolt",
        "follow_burst_max_under_3s",
        "ack_p99_follow_burst_vs_bolt",
        "acks_while_slack_429_under_3s",
        "acks_while_console_hanging_under_3s",
        "cycle_under_poll_interval",
    }
    cycle = doc["cycle_cpu"]  # the cycle's CPU, kept and every row read, same run
    assert cycle["watches"] == doc["config"]["cycle_watches"]
    assert cycle["cycles"] == doc["config"]["cycle_count"]
    assert cycle["kept_cpu_seconds"] > 0
    assert cycle["every_row_cpu_seconds"] > 0
    assert cycle["requests_cpu_seconds"] > 0
    assert "cycle_cpu_kept_vs_every_row" in doc["targets"]
    assert doc["targets"]["cycle_cpu_kept_vs_reference"]["met"] is None  # no reference: tiny
    for name in ("spread", "one_channel"):  # scans ending together at Slack's limits
        phase = doc["at_limits"][name]
        assert phase["completed"] == phase["watches"] > 0
        assert phase["final_reply_ms"]["n"] == phase["watches"]
        assert phase["least_allowed_ms"]["n"] == phase["watches"]
        assert phase["owed_to_slack_ms"]["n"] == phase["watches"]  # the sender's part
        assert phase["slack_429"] >= 0
        assert phase["refresh_bound_minutes"] >= 1
    assert {"no_429_at_limits_spread", "final_reply_p99_at_limits_one_channel"} <= set(
        doc["targets"]
    )
    table = render_table(doc)  # the human format renders the same document
    assert "minimal bolt app" in table
    assert "least the limits allow" in table
    assert "every row read each cycle, same run" in table
    assert doc["machine"]["platform"] in table
