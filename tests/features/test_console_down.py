"""A console that cannot be reached: told once per change, in /readyz and in status."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from tests.support.harness import ALICE, BotHarness, running_bot
from tests.test_cli import free_port


@pytest.fixture
def bot_without_console(tmp_path: Path) -> Iterator[BotHarness]:
    stamina.set_testing(True, attempts=1)
    try:
        url = f"http://127.0.0.1:{free_port()}"
        with running_bot(tmp_path, prisma_console_url=url, scanbot_admin_users=ALICE) as harness:
            yield harness
    finally:
        stamina.set_testing(False)


def test_an_unreachable_console_is_logged_once_not_every_cycle(
    bot_without_console: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """Fails before: with a subscription, every poll cycle logged a warning."""
    bot = bot_without_console
    bot.command("subscribe")
    bot.slack.wait_for_responses(1)
    caplog.set_level(logging.INFO)
    for _ in range(4):
        bot.poll()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings if "unreachable" in r.getMessage()] == [
        warnings[0].getMessage()
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    _, report = bot.runtime.readiness()
    reasons = report["reasons"]
    assert isinstance(reasons, dict)
    assert str(reasons["console"]).startswith("the console cannot be reached")


def test_status_names_the_unreachable_console(bot_without_console: BotHarness) -> None:
    bot = bot_without_console
    bot.command("status")
    (reply,) = bot.slack.wait_for_responses(1)
    shown = json.dumps(reply.body)
    assert ":red_circle: *Console:* console unreachable" in shown
