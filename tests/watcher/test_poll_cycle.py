"""The poll cycle against the simulated console and the Slack stand-in, over real HTTP.

Timeline of the sandbox scans below: each item takes 10 s of console time; discovery has
1 item, the image scan 4 — so discovery ends at +10 s and the scan at +50 s.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from bot.domain.watch import WatchState
from bot.sandbox.console import SandboxConsoleConfig
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.delivery import drain
from tests.support.faults import fail_next
from tests.support.harness import ALICE, CHANNEL, BotHarness, running_bot


def start_bot(
    tmp_path: Path, clock: ManualClock, **overrides: Any
) -> AbstractContextManager[BotHarness]:
    config = SandboxConsoleConfig(step_seconds=STEP)
    return running_bot(tmp_path, console_config=config, console_clock=clock, **overrides)


def slack_calls(bot: BotHarness) -> int:
    return len([c for c in bot.slack.calls if c.method.startswith("chat.")])


def test_a_watch_is_followed_to_completion_in_its_thread(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    parent_ts = bot.follow()

    console_clock.advance(STEP + 1)  # discovery done, image scan under way
    report = bot.poll()
    assert report.outcomes == {"replied": 1}
    (update,) = bot.slack.calls_to("chat.update")
    assert update.params["ts"] == parent_ts
    replies = bot.slack.thread(CHANNEL, parent_ts)
    assert len(replies) == 1

    console_clock.advance(5 * STEP)  # past the end: the console reports isScanOngoing false once
    assert bot.poll().outcomes == {"completed": 1}
    final = bot.slack.thread(CHANNEL, parent_ts)[-1]
    final_text = json.dumps(final)
    assert "complete" in final_text.lower()
    assert f"<@{ALICE}>" in final_text
    assert "4/4" in final_text
    assert "stop_watch" not in json.dumps(bot.slack.messages(CHANNEL)[0])
    assert bot.runtime.store.list_open() == []

    requests_before = len(bot.console.requests)
    assert bot.poll().watches == 0
    assert len(bot.console.requests) == requests_before  # polling stopped


def test_nothing_is_posted_when_nothing_changed(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    bot.follow()
    calls = slack_calls(bot)

    report = bot.poll()

    assert report.outcomes == {"unchanged": 1}
    assert slack_calls(bot) == calls


def test_one_console_request_per_distinct_image_per_cycle(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    bot.console.start_on_demand_scan("library/nginx", tag="1.25", images=4)
    for channel in ("C01", "C02", "C03"):
        bot.follow("alpine:3.16", channel_id=channel)
    bot.follow("nginx:1.25", channel_id="C04")
    bot.console.clear_requests()

    report = bot.poll()

    progress = [r for r in bot.console.requests if r.path.endswith("/registry/progress")]
    images = sorted((r.query["repo"][0], r.query["tag"][0]) for r in progress)
    assert images == [("library/alpine", "3.16"), ("library/nginx", "1.25")]
    assert all(r.query["onDemand"] == ["true"] for r in progress)
    assert (report.watches, report.images, report.console_requests) == (4, 2, 2)


def test_an_empty_answer_after_the_scan_was_seen_running_means_complete(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=1)
    parent_ts = bot.follow()
    console_clock.advance(10 * STEP)
    # Someone else (another channel's command) receives the once-only "finished" answer...
    bot.command("alpine:3.16", channel_id="C0OTHER")
    bot.slack.wait_for_responses(1)

    # ...so this watch sees [] — and still reports completion.
    assert bot.poll().outcomes == {"completed": 1}
    assert "complete" in json.dumps(bot.slack.thread(CHANNEL, parent_ts)[-1]).lower()


def test_progress_only_replies_are_rate_limited_but_the_parent_shows_the_latest(
    tmp_path: Path, console_clock: ManualClock
) -> None:
    with start_bot(tmp_path, console_clock, scanbot_thread_update_seconds=60) as bot:
        bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=10)
        parent_ts = bot.follow()
        console_clock.advance(STEP + 1)
        assert bot.poll().outcomes == {"replied": 1}  # phase change: always a reply
        bot.clock.advance(20)
        console_clock.advance(STEP)
        assert bot.poll().outcomes == {"updated": 1}  # count changed: parent only
        bot.clock.advance(45)
        console_clock.advance(STEP)
        assert bot.poll().outcomes == {"replied": 1}  # 65 s since the last reply
        assert len(bot.slack.calls_to("chat.update")) == 3
        assert len(bot.slack.thread(CHANNEL, parent_ts)) == 2


def test_a_console_error_in_the_scan_is_replied_and_escaped(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    hostile = "<!channel> registry <@U999> & co unreachable"
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=2, fail_with=hostile)
    parent_ts = bot.follow()

    console_clock.advance(10 * STEP)
    bot.poll()

    everything = json.dumps([c.params for c in bot.slack.calls])
    assert "<!channel>" not in everything
    assert "<@U999>" not in everything
    assert "&lt;!channel&gt;" in everything
    final = json.dumps(bot.slack.thread(CHANNEL, parent_ts)[-1])
    assert "error" in final.lower()
    assert bot.runtime.store.list_open() == []


def test_a_watch_ends_after_the_maximum_duration(
    tmp_path: Path, console_clock: ManualClock
) -> None:
    with start_bot(tmp_path, console_clock, scanbot_max_watch_seconds=600) as bot:
        bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
        parent_ts = bot.follow()
        bot.poll()  # the first cycle starts measuring the time followed
        for _ in range(9):
            bot.clock.advance(60)
            assert bot.poll().outcomes == {"unchanged": 1}
        bot.clock.advance(60)

        assert bot.poll().outcomes == {"expired": 1}
        (watch_row,) = [w for w in [bot.runtime.store.get(1)] if w is not None]
        assert watch_row.state is WatchState.EXPIRED
        assert len(bot.slack.thread(CHANNEL, parent_ts)) == 1


def test_a_wall_clock_jumping_a_day_ahead_does_not_expire_a_running_watch(
    tmp_path: Path, console_clock: ManualClock
) -> None:
    """Expiry counts the time actually followed, cycle by cycle, not the wall clock."""
    with start_bot(tmp_path, console_clock, scanbot_max_watch_seconds=3600) as bot:
        bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
        bot.follow()
        bot.poll()
        bot.clock.advance(25 * 3600)

        assert bot.poll().outcomes == {"unchanged": 1}
        assert len(bot.runtime.store.list_open()) == 1


def test_a_wall_clock_stepped_back_does_not_make_the_scan_look_instant(
    tmp_path: Path, console_clock: ManualClock
) -> None:
    with start_bot(tmp_path, console_clock) as bot:
        bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=2)
        parent_ts = bot.follow()
        bot.poll()
        for _ in range(3):
            bot.clock.advance(40)
            bot.poll()
        bot.clock.advance(-3600)
        console_clock.advance(10 * STEP)

        assert bot.poll().outcomes == {"completed": 1}
        final = json.dumps(bot.slack.thread(CHANNEL, parent_ts)[-1])
        assert "finished in 2 min" in final


def test_console_failures_during_a_cycle_post_nothing_and_retry_next_cycle(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    bot.follow()
    calls = slack_calls(bot)
    bot.console.inject_fault("5xx", count=20, path_contains="registry/progress")
    console_clock.advance(STEP + 1)

    assert bot.poll().outcomes == {"console-error": 1}
    assert slack_calls(bot) == calls

    bot.console.clear_faults()
    assert bot.poll().outcomes == {"replied": 1}  # the next cycle catches up


def test_a_channel_the_bot_was_removed_from_ends_the_watch(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    bot.follow()
    fail_next(bot.slack, "chat.update", error="channel_not_found")
    console_clock.advance(STEP + 1)

    bot.poll()  # the edit it owes meets channel_not_found: the watch ends
    assert bot.runtime.store.list_open() == []
    (watch,) = [w for w in [bot.runtime.store.get(1)] if w is not None]
    assert watch.state is WatchState.FAILED


def test_watches_resume_in_the_same_thread_after_a_restart(
    tmp_path: Path, console_clock: ManualClock
) -> None:
    with start_bot(tmp_path, console_clock) as bot:
        bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=2)
        parent_ts = bot.follow()
        console = bot.console
        slack = bot.slack
        # A second bot process on the same database (the first one is still around,
        # as after a crash nothing was cleaned up): it resumes the watch.
        from bot.runtime import build_runtime

        second = build_runtime(
            bot.runtime.settings, clock=bot.clock, channel_interval=0, rate_budget=False
        )
        try:
            console_clock.advance(10 * STEP)
            assert second.poll_once().outcomes == {"completed": 1}
            drain(second.sender)
        finally:
            second.shutdown()
        replies = slack.thread(CHANNEL, parent_ts)
        assert "complete" in json.dumps(replies[-1]).lower()
        assert len(slack.messages(CHANNEL)) == 1  # no duplicate parent
        assert console is bot.console
