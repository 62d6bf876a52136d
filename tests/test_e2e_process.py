"""`scanbot run` as a real process: follow a scan, survive kill -9, finish in the same thread.

The simulated console and the Slack stand-in run in this test process; the bot runs as a
child process in HTTP mode and is reached only over loopback HTTP.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from tests.support.clocks import ManualClock
from tests.support.constants import STEP, DatabaseUrlFactory
from tests.support.harness import ALICE, BOT_TOKEN, CHANNEL, SIGNING_SECRET
from tests.support.process import BotProcess, bot_env, wait_for


@pytest.fixture
def console(console_clock: ManualClock) -> Iterator[SandboxConsole]:
    with SandboxConsole(SandboxConsoleConfig(step_seconds=STEP), clock=console_clock).start() as c:
        yield c


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn(token=BOT_TOKEN).start() as stand_in:
        yield stand_in


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The bot's database: a SQLite file, and PostgreSQL when the tests have one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'scanbot.db'}"
    factory: DatabaseUrlFactory = request.getfixturevalue("postgres_schema_url")
    return factory()


def test_a_watch_survives_kill_9_and_completes_in_the_same_thread(
    console: SandboxConsole,
    console_clock: ManualClock,
    slack: SlackApiStandIn,
    database_url: str,
    tmp_path: Path,
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    env = bot_env(console, slack, database_url)
    log = tmp_path / "scanbot.log"

    first = BotProcess(env, log)
    try:
        health = first.wait_healthy()
        assert health == {"status": "ok", "phase": "running", "scheduler": "running"}
        body = slash_command_body(
            text="alpine 3.16", user_id=ALICE, channel_id=CHANNEL, response_url=slack.response_url()
        )
        response = httpx.post(
            f"{first.url}/slack/events", content=body, headers=signed_headers(SIGNING_SECRET, body)
        )
        assert response.status_code == 200
        slack.wait_for_calls("chat.postMessage", 1, timeout=20)
        (parent,) = slack.messages(CHANNEL)
        parent_ts = parent["ts"]

        console_clock.advance(STEP + 1)  # discovery done: the running bot replies in the thread
        wait_for(lambda: len(slack.thread(CHANNEL, parent_ts)) >= 1)

        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
    finally:
        first.close()

    console_clock.advance(10 * STEP)  # the scan finishes while scanbot is down
    second = BotProcess(env, log)
    try:
        second.wait_healthy()
        # The killed process's poll lease runs out first (at most 10 s at a 1 s poll).
        wait_for(
            lambda: "complete" in json.dumps(slack.thread(CHANNEL, parent_ts)[-1:]).lower(),
            timeout=60,
        )
        final = json.dumps(slack.thread(CHANNEL, parent_ts)[-1])
        assert f"<@{ALICE}>" in final
        assert "4/4" in final
        assert len(slack.messages(CHANNEL)) == 1  # no duplicate parent after the restart
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(timeout=20) == 0  # SIGTERM stops cleanly
    finally:
        second.close()
    text = log.read_text()
    assert "scanbot stopped" in text
    assert SIGNING_SECRET not in text
    assert BOT_TOKEN not in text
    assert "sandbox-password" not in text
