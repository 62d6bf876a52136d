"""What a user finally sees after ``/scanprogress <image>`` and the **Scan now** button.

The ack promises nothing it cannot keep ("Looking up `alpine:3.16`…") and the outcome
replaces it (``replace_original`` on the ``response_url``); the Slack stand-in applies the
replacements as Slack does (:meth:`SlackApiStandIn.seen_at`), so these tests read the
messages the user is left with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sandbox.console import SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.slack import blocks
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
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


def command(bot: BotHarness, text: str, *, user_id: str = ALICE) -> list[dict[str, Any]]:
    """Run the command; the messages its user is left with once it is answered."""
    before = len(bot.slack.responses)
    name = f"cmd-{before}"
    ack = bot.command(text, user_id=user_id).json()
    bot.slack.wait_for_responses(before + 1)
    return bot.slack.seen_at(name, original=ack)


def test_the_ack_of_a_follow_promises_nothing_it_cannot_keep(bot: BotHarness) -> None:
    """Fails before: the ack said "its progress will appear in this channel" even when no
    scan was running."""
    ack = bot.command("postgres:16").json()
    shown = json.dumps(ack, ensure_ascii=False)
    assert "Looking up `postgres:16`\u2026" in shown
    assert "will appear" not in shown
    bot.slack.wait_for_responses(1)


def test_no_scan_in_progress_replaces_the_ack_and_is_short(bot: BotHarness) -> None:
    """Fails before: the answer came as a second message under the ack, with the API's
    JSON body in it."""
    (seen,) = command(bot, "nginx:1.25")
    shown = json.dumps(seen)
    assert "No on-demand scan of `nginx:1.25` is in progress" in shown
    assert "Looking up" not in shown
    assert "onDemandScan" not in shown
    assert "/registry/scan" not in shown
    assert len(seen["blocks"]) <= 2


def test_a_followed_scan_replaces_the_ack_with_where_its_progress_is(bot: BotHarness) -> None:
    """Fails before: the ack stayed as it was once the scan was followed."""
    bot.console.start_on_demand_scan("library/alpine", tag="3.16")
    (seen,) = command(bot, "alpine:3.16")
    assert "Following `alpine:3.16`" in json.dumps(seen)
    assert len(bot.slack.messages(CHANNEL)) == 1


def test_a_refused_scan_replaces_the_ack(strict_bot: BotHarness) -> None:
    """Fails before: "Looking up …" stayed above a second message with the refusal."""
    (seen,) = command(strict_bot, "scan alpine:3.16", user_id=BOB)
    shown = json.dumps(seen)
    assert "You may not start scans from Slack here" in shown
    assert "Starting a scan" not in shown


def test_the_scan_now_button_is_gone_once_clicked(strict_bot: BotHarness) -> None:
    """Fails before: the answer to the click came as a new message and the "no scan in
    progress" message kept its **Scan now** button."""
    (no_scan,) = command(strict_bot, "alpine:3.16")
    assert blocks.SCAN_NOW_ACTION in json.dumps(no_scan)

    value = json.dumps({"repo": "library/alpine", "tag": "3.16"})
    strict_bot.click(blocks.SCAN_NOW_ACTION, value)
    strict_bot.wait_until(lambda: len(strict_bot.slack.responses_to("action")) >= 2)

    (seen,) = strict_bot.slack.seen_at("action", original=no_scan)
    shown = json.dumps(seen)
    assert blocks.SCAN_NOW_ACTION not in shown
    assert "Following `alpine:3.16`" in shown


def test_the_stand_in_applies_replace_and_delete_original_as_slack_does() -> None:
    with SlackApiStandIn().start() as slack:
        url = slack.response_url("r")
        httpx.post(url, json={"text": "second"}).raise_for_status()
        httpx.post(url, json={"text": "third", "replace_original": True}).raise_for_status()
        assert [m["text"] for m in slack.seen_at("r", original={"text": "first"})] == [
            "first",
            "third",
        ]
        httpx.post(url, json={"text": "x", "delete_original": True}).raise_for_status()
        assert [m["text"] for m in slack.seen_at("r", original={"text": "first"})] == ["first"]
        assert slack.seen_at("r") == []
