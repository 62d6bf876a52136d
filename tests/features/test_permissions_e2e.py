"""Who may stop a watch, end to end: signed clicks and commands over real HTTP.

A watch is stopped by whoever started it, by an admin (``SCANBOT_ADMIN_USERS``), or by
anyone in its channel once its starter has left the workspace (Slack's ``users.info``
says ``deleted``).  Everyone else is told who may and which setting decides.  Before the
permission model was applied to stopping, anyone could stop anyone's watch: the refusal
tests below failed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.console import SandboxConsoleConfig
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import ALICE, CHANNEL, BotHarness, running_bot

BOB, ADMIN = "U0BOB", "U0ADMIN"


@pytest.fixture
def bot(tmp_path: Path, console_clock: ManualClock) -> Iterator[BotHarness]:
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path, console_config=config, console_clock=console_clock, scanbot_admin_users=ADMIN
    ) as harness:
        yield harness


def _alices_watch(bot: BotHarness) -> tuple[int, str]:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    parent_ts = bot.follow()  # as ALICE
    # Her command's own answer may still be on its way once the parent is posted: wait for
    # it, so that the next answer a test waits for is the one it caused.
    bot.wait_until(lambda: "Following" in json.dumps([r.body for r in bot.slack.responses]))
    (watch,) = bot.runtime.store.list_open()
    return watch.id, parent_ts


def _answers(bot: BotHarness, name: str) -> str:
    return json.dumps(bot.slack.responses_to(name))


def test_another_member_may_not_stop_a_watch_by_button_and_is_told_who_may(
    bot: BotHarness,
) -> None:
    watch_id, parent_ts = _alices_watch(bot)

    assert bot.click_stop(watch_id, user_id=BOB, message_ts=parent_ts).status_code == 200
    deadline = time.monotonic() + 5
    while not bot.slack.responses_to("action") and time.monotonic() < deadline:
        time.sleep(0.02)

    answer = _answers(bot, "action")
    assert "You may not stop this watch" in answer
    assert "SCANBOT_ADMIN_USERS" in answer
    assert f"<@{ALICE}>" in answer
    assert [w.id for w in bot.runtime.store.list_open()] == [watch_id]


def test_another_member_may_not_stop_a_watch_by_command_and_is_told_who_may(
    bot: BotHarness,
) -> None:
    _alices_watch(bot)
    before = len(bot.slack.responses)

    bot.command("stop alpine:3.16", user_id=BOB)
    bot.slack.wait_for_responses(before + 1)

    assert "You may not stop this watch" in json.dumps(bot.slack.responses[-1].body)
    assert len(bot.runtime.store.list_open()) == 1


def test_the_starter_may_stop_their_watch(bot: BotHarness) -> None:
    watch_id, parent_ts = _alices_watch(bot)

    bot.click_stop(watch_id, user_id=ALICE, message_ts=parent_ts)

    bot.wait_until(lambda: bot.runtime.store.list_open() == [])


def test_an_admin_may_stop_anyones_watch(bot: BotHarness) -> None:
    _alices_watch(bot)

    bot.command("stop alpine:3.16", user_id=ADMIN)

    bot.wait_until(lambda: bot.runtime.store.list_open() == [])


def test_anyone_in_the_channel_may_stop_a_watch_whose_starter_left_the_workspace(
    bot: BotHarness,
) -> None:
    watch_id, parent_ts = _alices_watch(bot)
    bot.slack.deleted_users = {ALICE}

    bot.click_stop(watch_id, user_id=BOB, message_ts=parent_ts, channel_id=CHANNEL)

    bot.wait_until(lambda: bot.runtime.store.list_open() == [])
    asked = bot.slack.calls_to("users.info")
    assert [call.params.get("user") for call in asked] == [ALICE]
