"""The bot against a Slack stand-in that enforces Slack's published rate limits: a burst of
changes gets no 429, a completion goes before the progress edits queued ahead of it, and the
parents the edit budget could not refresh yet go first (stalest first, latest state only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.owed import Kind, watch_thread
from bot.sandbox.console import SandboxConsoleConfig
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import BotHarness, running_bot

WATCHES = 12  # more progress edits at once than chat.update's burst (Tier 3)


@pytest.fixture
def strict_bot(tmp_path: Path, console_clock: ManualClock) -> Iterator[BotHarness]:
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path, console_config=config, console_clock=console_clock, strict_slack=True
    ) as harness:
        yield harness


def _channel(i: int) -> str:
    return f"C0BURST{i:02d}"


def _pending_edits(bot: BotHarness) -> dict[int, int]:
    """Watch id -> outbox id of its pending edit (where it stands in the queue)."""
    pending = {}
    for watch in bot.runtime.store.list_open():
        for entry in bot.runtime.store.pending(watch_thread(watch.id)):
            if entry.kind is Kind.EDIT:
                pending[watch.id] = entry.id
    return pending


def test_a_burst_gets_no_429_and_the_completion_goes_before_queued_progress_edits(
    strict_bot: BotHarness, console_clock: ManualClock
) -> None:
    bot = strict_bot
    for i in range(WATCHES):
        images = 1 if i == 0 else 40  # the first scan ends soon, the others go on
        bot.console.start_on_demand_scan(f"library/app{i}", tag="1.0", images=images)
        bot.follow(f"library/app{i}:1.0", channel_id=_channel(i))

    console_clock.advance(STEP)  # every scan moves: an edit owed for every parent
    bot.poll()
    stale = _pending_edits(bot)
    assert stale, "the edit budget let every edit through; the test needs more watches"
    assert len(bot.slack.calls_to("chat.update")) < WATCHES

    console_clock.advance(5 * STEP)  # the first scan completes, the others move again
    bot.poll()
    assert bot.runtime.store.list_open(channel_id=_channel(0)) == []  # the first has ended

    def completed() -> bool:
        bot.deliver()
        parents = bot.slack.messages(_channel(0))
        replies = [m for p in parents for m in bot.slack.thread(_channel(0), p["ts"])]
        return any("Scan complete" in json.dumps(m) for m in replies)

    bot.wait_until(completed)  # as soon as its channel's post budget allows (about 1 s)
    assert _pending_edits(bot), "the completion went while progress edits still waited"
    for watch_id, entry_id in stale.items():  # still stale: the same place, a newer body
        assert _pending_edits(bot).get(watch_id) == entry_id

    before = len(bot.slack.calls_to("chat.update"))

    def refreshed_stale() -> bool:
        bot.deliver()
        return len(bot.slack.calls_to("chat.update")) >= before + len(stale) + 1

    bot.wait_until(refreshed_stale, timeout=15)  # Tier 3: an edit every 1.2 s
    refreshed = bot.slack.calls_to("chat.update")[before:]
    channels = [call.params["channel"] for call in refreshed[: len(stale) + 1]]
    by_watch = {w.id: w.channel_id for w in bot.runtime.store.list_open()}
    assert {by_watch[w] for w in stale} <= set(channels)  # the stalest parents went first
    assert bot.slack.rate_limited == {}  # and Slack never had to say 429
