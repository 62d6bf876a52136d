"""Scans started from Slack, stall alerts and results worth trusting, end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.console import SandboxConsoleConfig
from bot.slack import blocks
from bot.watcher.lifecycle import Outcome
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.faults import emulate_old_console
from tests.support.harness import ALICE, CHANNEL, BotHarness, running_bot

BOB = "U0BOB"


@pytest.fixture
def strict_bot(tmp_path: Path, console_clock: ManualClock) -> Iterator[BotHarness]:
    """Only Alice may start scans."""
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path, console_config=config, console_clock=console_clock, scanbot_scan_users=ALICE
    ) as harness:
        yield harness


def scan_requests(bot: BotHarness) -> list[object]:
    return [r for r in bot.console.requests if r.path.endswith("/registry/scan")]


def test_a_scan_started_from_slack_is_followed_to_its_result_and_diff(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.seed_result("library/alpine:3.16", scanned_epoch=bot.console.epoch() - 86_400)
    bot.command("scan alpine:3.16")
    bot.wait_until(lambda: any(w.parent_ts for w in bot.runtime.store.list_open()))
    (request,) = scan_requests(bot)
    assert request.body["onDemandScan"] is True  # type: ignore[attr-defined]

    console_clock.advance(10 * STEP)
    assert bot.poll().outcomes == {"completed": 1}

    (parent,) = bot.slack.messages(CHANNEL)
    final = json.dumps(bot.slack.thread(CHANNEL, parent["ts"])[-1])
    assert "Scan complete" in final
    assert "Result of the scan at" in final
    assert "Since the previous result" in final
    assert "/#!/monitor/vulnerabilities/images/registries?search=" in final  # console button


def test_a_user_not_allowed_is_refused_by_command_with_no_console_request(
    strict_bot: BotHarness,
) -> None:
    strict_bot.console.clear_requests()
    strict_bot.command("scan alpine:3.16", user_id=BOB)
    (response,) = strict_bot.slack.wait_for_responses(1)

    assert "SCANBOT_SCAN_USERS" in json.dumps(response.body)
    assert strict_bot.console.requests == []


def test_the_scan_now_button_is_offered_to_allowed_users_and_rechecks_permission(
    strict_bot: BotHarness,
) -> None:
    strict_bot.command("alpine:3.16", user_id=ALICE)
    (alice,) = strict_bot.slack.wait_for_responses(1)
    strict_bot.command("alpine:3.16", user_id=BOB)
    bob = strict_bot.slack.wait_for_responses(2)[-1]
    assert blocks.SCAN_NOW_ACTION in json.dumps(alice.body)
    assert blocks.SCAN_NOW_ACTION not in json.dumps(bob.body)

    strict_bot.console.clear_requests()
    value = json.dumps({"repo": "library/alpine", "tag": "3.16"})
    strict_bot.click(blocks.SCAN_NOW_ACTION, value, user_id=BOB)
    refused = strict_bot.slack.wait_for_responses(4)[-1]  # "Starting …", then the refusal
    assert "SCANBOT_SCAN_USERS" in json.dumps(refused.body)
    assert strict_bot.console.requests == []

    strict_bot.click(blocks.SCAN_NOW_ACTION, value, user_id=ALICE)
    strict_bot.wait_until(lambda: any(w.parent_ts for w in strict_bot.runtime.store.list_open()))
    assert len(scan_requests(strict_bot)) == 1


def test_a_stall_is_told_once_with_its_likely_cause_and_its_end_once(
    tmp_path: Path, console_clock: ManualClock
) -> None:
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path, console_config=config, console_clock=console_clock, scanbot_stall_minutes=0.5
    ) as bot:
        bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
        parent_ts = bot.follow()
        bot.console.stall(600)
        bot.console.add_registry_status_error("No available Defender was found")
        bot.poll()  # starts measuring the time followed
        stalled_cycles = 0
        for _ in range(4):
            bot.clock.advance(20)
            stalled_cycles += bot.poll().outcomes.get(Outcome.STALLED, 0)
        assert stalled_cycles == 1  # once per stall, not once per cycle

        console_clock.advance(600 + STEP)
        bot.clock.advance(20)
        bot.poll()
        thread = bot.slack.thread(CHANNEL, parent_ts)
        texts = [json.dumps(reply) for reply in thread]
        stalled = [t for t in texts if "stalled" in t]
        assert len(stalled) == 1
        assert f"<@{ALICE}>" in stalled[0]
        assert "No available Defender was found" in stalled[0]
        assert sum("moves again" in t for t in texts) == 1


def test_a_result_older_than_the_scan_is_not_shown_as_new(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    image = "library/alpine:3.16"
    old = bot.console.epoch() - 86_400
    bot.console.seed_result(image, scanned_epoch=old)
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=2)
    parent_ts = bot.follow()
    console_clock.advance(10 * STEP)
    bot.console.finish_all()
    bot.console.seed_result(image, scanned_epoch=old)  # the fresh result lags behind

    assert bot.poll().outcomes == {"completed": 1}  # told at once, not held back

    final = json.dumps(bot.slack.thread(CHANNEL, parent_ts)[-1])
    assert "has not written the result of this scan yet" in final
    assert "Vulnerabilities" not in final


def test_an_html_console_url_is_named_as_such_in_slack(bot: BotHarness) -> None:
    bot.console.inject_fault("html", count=5, path_contains="registry/progress")
    bot.command("alpine:3.16")
    (response,) = bot.slack.wait_for_responses(1)

    text = json.dumps(response.body)
    assert "looks like a web page" in text
    assert "Path to Console" in text


def test_an_old_console_is_named_too_old_with_the_version_needed(bot: BotHarness) -> None:
    emulate_old_console(bot.console, "22.12.585")
    bot.command("alpine:3.16")
    (response,) = bot.slack.wait_for_responses(1)

    text = json.dumps(response.body)
    assert "22.12.585" in text
    assert "30.02" in text
    assert "PRISMA_API_VERSION" not in text
