"""``/scanprogress status`` end to end: signed command in, an answer only the asker sees.

Admins (``SCANBOT_ADMIN_USERS``; ALICE here) see every check's details; anyone else sees
whether scanning works and their own channel's state, and ``subscriptions`` shows them
their channel only.  Before, everyone saw the console's version, latency and last error
text and every subscribed channel: the member tests failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.console import SandboxConsoleConfig
from bot.slack.command_text import FollowImage, ShowStatus, parse_command
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.faults import expire_tokens
from tests.support.harness import ALICE, CHANNEL, BotHarness, running_bot

BOB = "U0BOB"


@pytest.fixture
def bot(tmp_path: Path, console_clock: ManualClock) -> Iterator[BotHarness]:
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path, console_config=config, console_clock=console_clock, scanbot_admin_users=ALICE
    ) as harness:
        yield harness


def test_status_is_a_keyword_and_status_with_more_words_is_an_image() -> None:
    assert parse_command("status") == ShowStatus()
    assert parse_command("  STATUS ") == ShowStatus()
    assert isinstance(parse_command("status:1.0"), FollowImage)


def test_status_reports_console_auth_regular_scan_watches_and_polling(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    bot.follow("alpine:3.16")
    bot.poll()
    bot.slack.clear()

    response = bot.command("status")

    assert response.status_code == 200
    (reply,) = bot.slack.wait_for_responses(1)
    assert reply.body["response_type"] == "ephemeral"
    shown = json.dumps(reply.body)
    for expected in (
        "*Console:* console",
        "reachable in",
        "*Authentication:* auth ok",
        "*Regular scan:*",
        "*Last regular scan:* last completed",
        "1 open watch",
        "*Polling:* last poll cycle",
    ):
        assert expected in shown, expected
    assert bot.slack.calls_to("chat.postMessage") == []  # nothing in the channel


def test_status_counts_the_subscribed_channels(bot: BotHarness) -> None:
    """``/scanprogress status`` says how many channels subscribe to the regular scan.

    Failed before the fix: the count was asked for as ``list_subscriptions``, which the
    store does not have (its method is ``subscriptions()``), so it was never shown.
    """
    bot.command("subscribe", channel_id="C0SUBA")
    bot.slack.wait_for_responses(1)  # the subscription's confirmation
    bot.slack.clear()

    bot.command("status")

    (reply,) = bot.slack.wait_for_responses(1)
    assert "0 open watches, 1 subscription" in json.dumps(reply.body)


def test_status_says_when_the_console_refuses_the_credentials(bot: BotHarness) -> None:
    bot.console.inject_fault("401", count=50, path_contains="authenticate")
    expire_tokens(bot.console)

    bot.command("status")

    (reply,) = bot.slack.wait_for_responses(1, timeout=30)
    shown = json.dumps(reply.body)
    assert "CRITICAL" in shown
    assert "*Authentication:* auth failed" in shown
    assert "PRISMA_PASSWORD" in shown  # what to fix
    assert "*Polling:* no poll cycle yet" in shown


def test_a_member_sees_whether_scanning_works_and_their_channel_but_no_console_details(
    bot: BotHarness,
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    bot.follow("alpine:3.16")
    bot.console.inject_fault("5xx", count=3, path_contains="registry/progress")
    bot.poll()  # leaves a console error text behind
    assert bot.runtime.monitor.state().last_error
    bot.slack.clear()

    bot.command("status", user_id=BOB)

    (reply,) = bot.slack.wait_for_responses(1)
    assert reply.body["response_type"] == "ephemeral"
    shown = json.dumps(reply.body)
    assert "*Scanning:*" in shown
    assert f"<#{CHANNEL}>" in shown
    assert "follows 1 scan" in shown
    assert "SCANBOT_ADMIN_USERS" in shown
    for secret in ("reachable in", "console 3", "Last error", "registry/progress", " ms"):
        assert secret not in shown, secret


def test_a_member_sees_only_their_own_channel_in_subscriptions(bot: BotHarness) -> None:
    for n, channel in enumerate(("C0PRIVATE", CHANNEL), start=1):
        bot.command("subscribe", channel_id=channel)
        bot.slack.wait_for_responses(n)
    bot.slack.clear()

    bot.command("subscriptions", user_id=BOB)
    (member,) = bot.slack.wait_for_responses(1)
    bot.command("subscriptions", user_id=ALICE)
    admin = bot.slack.wait_for_responses(2)[-1]

    assert f"<#{CHANNEL}> is subscribed" in json.dumps(member.body)
    assert "C0PRIVATE" not in json.dumps(member.body)
    assert "C0PRIVATE" in json.dumps(admin.body)
