"""``/scanprogress status`` end to end: signed command in, an answer only the asker sees."""

from __future__ import annotations

import json

from bot.slack.command_text import FollowImage, ShowStatus, parse_command
from tests.support.faults import expire_tokens
from tests.support.harness import BotHarness


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
