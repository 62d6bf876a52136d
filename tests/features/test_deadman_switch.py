"""The dead-man's switch, end to end: subscribed channels are told once when no regular scan
has completed for SCANBOT_REGULAR_MAX_AGE_HOURS, and once more when one completes again —
across restarts, and across two replicas sharing PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import Runtime, build_runtime
from bot.sandbox.console import SandboxConsoleConfig
from bot.watcher import deadman
from tests.support.clocks import ManualClock
from tests.support.constants import STEP, DatabaseUrlFactory
from tests.support.delivery import drain
from tests.support.harness import ALICE, BotHarness, running_bot
from tests.support.leases import lapse_leases

QUIET, NORMAL = "C0QUIET", "C0NORMAL"
ONCALL = "<!subteam^S0ONCALL>"
OVERDUE = "No regular registry scan has completed"
RECOVERED = "complete again"


def start_bot(
    tmp_path: Path, console_clock: ManualClock, **overrides: Any
) -> Generator[BotHarness]:
    """The last regular scan completed 3 h ago; the limit is 2 h."""
    config = SandboxConsoleConfig(step_seconds=STEP, previous_regular_scan_age_seconds=3 * 3600)
    with running_bot(
        tmp_path,
        console_config=config,
        console_clock=console_clock,
        scanbot_regular_max_age_hours=2,
        **overrides,
    ) as harness:
        yield harness


@pytest.fixture
def bot(tmp_path: Path, console_clock: ManualClock) -> Iterator[BotHarness]:
    yield from start_bot(tmp_path, console_clock)


def subscribe(bot: BotHarness, text: str, channel: str) -> None:
    bot.command(text, channel_id=channel, user_id=ALICE)
    bot.wait_until(lambda: bot.runtime.store.subscription(channel) is not None)


def told(bot: BotHarness, channel: str, words: str) -> list[str]:
    texts = [json.dumps(message) for message in bot.slack.messages(channel)]
    return [text for text in texts if words in text]


def later(bot: BotHarness, console_clock: ManualClock, seconds: float) -> None:
    bot.clock.advance(seconds)
    console_clock.advance(seconds)


def test_an_outage_is_told_once_per_channel_with_its_mention_even_across_a_restart(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    subscribe(bot, "subscribe quiet mention=<!subteam^S0ONCALL|@oncall>", QUIET)
    subscribe(bot, "subscribe", NORMAL)

    assert bot.poll().deadman == "overdue"
    for _ in range(3):
        later(bot, console_clock, deadman.CHECK_EVERY.total_seconds())
        bot.poll()
    # A restart in the middle of the outage: another process on the same database.
    second = build_runtime(bot.runtime.settings, clock=bot.clock, channel_interval=0)
    try:
        later(bot, console_clock, deadman.CHECK_EVERY.total_seconds())
        lapse_leases(bot.runtime.settings.scanbot_database_url)  # the first process is gone
        assert second.poll_once().deadman == "overdue"
        drain(second.sender)
    finally:
        second.shutdown()

    (quiet,) = told(bot, QUIET, OVERDUE)
    (normal,) = told(bot, NORMAL, OVERDUE)
    assert ONCALL in quiet
    assert "subteam" not in normal  # a channel without a mention pings nobody
    assert "over 2 h" in quiet


def test_a_completed_scan_after_an_outage_is_told_once_without_a_mention(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    subscribe(bot, "subscribe quiet mention=<!subteam^S0ONCALL|@oncall>", QUIET)
    assert bot.poll().deadman == "overdue"

    bot.console.start_regular_scan(repositories=1, images=1)
    bot.poll()
    later(bot, console_clock, 5 * STEP)
    bot.poll()  # the scan completes (told in its own thread)
    later(bot, console_clock, deadman.CHECK_EVERY.total_seconds())
    assert bot.poll().deadman == "recovered"
    for _ in range(2):
        later(bot, console_clock, deadman.CHECK_EVERY.total_seconds())
        assert bot.poll().deadman == "ok"

    (recovered,) = told(bot, QUIET, RECOVERED)
    assert ONCALL not in recovered
    assert len(told(bot, QUIET, OVERDUE)) == 1


def test_no_subscription_means_no_status_request_for_the_switch(bot: BotHarness) -> None:
    bot.console.clear_requests()
    assert bot.poll().deadman == ""
    assert not [r for r in bot.console.requests if r.path.endswith("/statuses/registry")]


def test_two_replicas_on_postgresql_tell_an_outage_once(
    tmp_path: Path, console_clock: ManualClock, postgres_schema_url: DatabaseUrlFactory
) -> None:
    harnesses = start_bot(tmp_path, console_clock, scanbot_database_url=postgres_schema_url())
    bot = next(harnesses)
    try:
        subscribe(bot, "subscribe quiet mention=<!subteam^S0ONCALL|@oncall>", QUIET)
        subscribe(bot, "subscribe", NORMAL)
        second = build_runtime(bot.runtime.settings, clock=bot.clock, channel_interval=0)
        try:
            for _ in range(3):
                # Both replicas decide at the same moment, each forgetting the other's
                # last look, so only the database's unique keys stand between them.
                for runtime in (bot.runtime, second):
                    runtime.store.set_value(deadman.CHECKED_KEY, "", now=bot.clock())
                race(bot.runtime, second)
                later(bot, console_clock, 60)
            bot.deliver()
            drain(second.sender)
        finally:
            second.shutdown()
        assert len(told(bot, QUIET, OVERDUE)) == 1
        assert len(told(bot, NORMAL, OVERDUE)) == 1
    finally:
        harnesses.close()


def race(*runtimes: Runtime) -> None:
    """Run the switch on every runtime at once."""
    start = threading.Barrier(len(runtimes))
    errors: list[BaseException] = []

    def run(runtime: Runtime) -> None:
        start.wait()
        try:
            deadman.check(runtime.ctx)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
