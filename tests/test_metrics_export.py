"""Every metric the README documents is exported, and gauges of shared state are exported
once: by the replica holding the poll lease only."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.runtime import build_runtime
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import CHANNEL, BotHarness

ROOT = Path(__file__).resolve().parents[1]
SHARED = (
    "scanbot_open_watches",
    "scanbot_subscriptions",
    "scanbot_outbox_pending",
    "scanbot_outbox_oldest_pending_seconds",
)


def families(text: str) -> dict[str, float | None]:
    """Family name → the value of its first sample (None when it has none)."""
    found: dict[str, float | None] = {}
    for family in text_string_to_metric_families(text):
        found[family.name] = family.samples[0].value if family.samples else None
    return found


def documented_metrics() -> set[str]:
    """The metric names in the README's metrics table (counters without ``_total``)."""
    readme = (ROOT / "README.md").read_text()
    names = set(re.findall(r"^\s*\| `(scanbot_[a-z_]+)", readme, flags=re.MULTILINE))
    return {name.removesuffix("_total") for name in names}


def test_every_metric_the_readme_documents_is_exported(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    documented = documented_metrics()
    assert len(documented) >= 20
    bot.command("subscribe", channel_id=CHANNEL)
    bot.wait_until(lambda: bool(bot.runtime.store.subscriptions()))
    bot.console.start_regular_scan(repositories=2, images=3)
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    bot.slack.rate_limit_next("chat.postMessage", retry_after=0)
    bot.follow("alpine:3.16")
    for _ in range(10):  # the subscribed channel's thread opens while the regular scan runs
        bot.poll()
        if bot.runtime.store.open_runs():
            break
    bot.console.inject_fault("5xx", count=5, path_contains="registry/progress")
    bot.poll()  # console errors and retries
    bot.console.clear_faults()
    for _ in range(60):  # a cycle may miss the regular scan's answer on a loaded machine
        console_clock.advance(STEP)
        bot.poll()
        if bot.runtime.store.last_regular_completion() is not None:
            break
    exported = families(bot.http.get(f"{bot.url}/metrics").text)
    assert documented - set(exported) == set()
    assert exported["scanbot_subscriptions"] == 1
    assert exported["scanbot_poll_lease_held"] == 1
    assert exported["scanbot_slack_token_refused"] == 0
    completed = exported["scanbot_last_regular_scan_completion_timestamp_seconds"]
    assert completed is not None
    assert completed > 0


def test_only_the_replica_holding_the_poll_lease_exports_the_shared_gauges(
    bot: BotHarness,
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    bot.follow("alpine:3.16")
    second = build_runtime(bot.runtime.settings, clock=bot.clock, channel_interval=0)
    try:
        assert bot.poll().ran
        assert not second.poll_once().ran  # the lease is the first one's
        holder = families(bot.runtime.metrics.exposition().decode())
        other = families(second.metrics.exposition().decode())
    finally:
        second.shutdown()
    assert holder["scanbot_poll_lease_held"] == 1
    assert holder["scanbot_open_watches"] == 1
    assert holder["scanbot_last_successful_poll_timestamp_seconds"] == bot.clock().timestamp()
    assert other["scanbot_poll_lease_held"] == 0
    assert "scanbot_last_successful_poll_timestamp_seconds" not in other  # never polled
    for name in SHARED:
        assert name in holder
        assert name not in other  # summed over replicas, each counts once


def test_slack_refusing_the_token_shows_as_a_gauge(bot: BotHarness) -> None:
    bot.runtime.sender.status.not_authorized = "token_revoked"
    assert families(bot.http.get(f"{bot.url}/metrics").text)["scanbot_slack_token_refused"] == 1
    bot.runtime.sender.status.not_authorized = None
    assert families(bot.http.get(f"{bot.url}/metrics").text)["scanbot_slack_token_refused"] == 0
