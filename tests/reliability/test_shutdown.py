"""SIGTERM while follows are still being worked on: a bounded, quiet, honest stop.

``scanbot run`` as a process, a console that hangs on every progress request, one work
thread and a 1 s shutdown grace.  Three follows are acked; the first one's work hangs on
the console, the other two wait behind it.  On SIGTERM the process must exit within its
grace (not wait for the hanging console), tell the two users whose follows never started
to run the command again, tell the one whose follow was running that the answer may not
come (before, that user heard nothing), and not tell anyone that something went wrong
inside scanbot.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from tests.support.harness import ALICE, BOT_TOKEN, SIGNING_SECRET
from tests.support.process import BotProcess, bot_env, wait_for

HANG_SECONDS = 60.0  # the console's delay: far longer than any shutdown may take
#: The client's timeout for one console request: a stop that waited for the hanging request
#: would take at least this long; one that does not takes about its grace (1-8 s).
CONSOLE_TIMEOUT = "30"
PROMPT = 15.0  # seconds: a prompt stop, on a loaded machine, is well under this


@pytest.fixture
def console() -> Iterator[SandboxConsole]:
    with SandboxConsole(SandboxConsoleConfig()).start() as c:
        yield c


@pytest.fixture
def slack() -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn(token=BOT_TOKEN).start() as stand_in:
        yield stand_in


def test_sigterm_drops_unstarted_follows_telling_their_users_and_exits_in_time(
    console: SandboxConsole, slack: SlackApiStandIn, tmp_path: Path
) -> None:
    env = bot_env(
        console,
        slack,
        f"sqlite:///{tmp_path / 'scanbot.db'}",
        SCANBOT_WORK_THREADS="1",
        SCANBOT_SHUTDOWN_SECONDS="1",
        PRISMA_TIMEOUT_SECONDS=CONSOLE_TIMEOUT,
    )
    log = tmp_path / "scanbot.log"
    bot = BotProcess(env, log)
    try:
        bot.wait_healthy()
        console.inject_fault(
            "delay", count=10**6, delay_seconds=HANG_SECONDS, path_contains="/registry/progress"
        )
        for n in range(3):
            console.start_on_demand_scan(f"team/app{n}", tag="1.0")
            body = slash_command_body(
                text=f"team/app{n}:1.0",
                user_id=ALICE,
                channel_id=f"C0FOLLOW{n}",
                response_url=slack.response_url(f"follow{n}"),
            )
            acked = httpx.post(
                f"{bot.url}/slack/events",
                content=body,
                headers=signed_headers(SIGNING_SECRET, body),
                timeout=3,
            )
            assert acked.status_code == 200
        # the first follow's work now hangs on the console; the other two wait behind it
        console.wait_for_requests(lambda r: r.path.endswith("/registry/progress"), timeout=20)

        stopped_at = time.monotonic()
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.proc.wait(timeout=30) == 0
        took = time.monotonic() - stopped_at
        assert took < PROMPT, f"the stop waited for the hanging console ({took:.1f} s)"

        wait_for(lambda: all(slack.responses_to(f"follow{n}") for n in range(3)))
        for name in ("follow1", "follow2"):
            (answer,) = slack.responses_to(name)
            assert "restarted before it could answer" in json.dumps(answer)
        (running,) = slack.responses_to("follow0")
        assert "restarted while it was answering" in json.dumps(running)
        everything = json.dumps([r.body for r in slack.responses])
        assert "Something went wrong" not in everything
        assert slack.calls_to("chat.postMessage") == []  # no follow got as far as a parent
    finally:
        bot.close()
    text = log.read_text()
    assert "1 piece(s) of Slack work still running are abandoned, 2 queued" in text
    assert "Traceback" not in text
    assert "scanbot stopped" in text


def test_sigterm_while_the_poll_cycle_waits_on_a_hanging_console_is_prompt_and_loses_nothing(
    slack: SlackApiStandIn, tmp_path: Path
) -> None:
    """The cycle stops waiting at once (its console requests are abandoned, not awaited),
    and the next process continues the watch to its completion in the same thread."""
    with SandboxConsole(SandboxConsoleConfig(step_seconds=2.0)).start() as console:
        console.start_on_demand_scan("team/app", tag="1.0", discovery_total=1, images=2)
        env = bot_env(
            console,
            slack,
            f"sqlite:///{tmp_path / 'scanbot.db'}",
            PRISMA_TIMEOUT_SECONDS=CONSOLE_TIMEOUT,
        )
        log = tmp_path / "scanbot.log"
        first = BotProcess(env, log)
        try:
            first.wait_healthy()
            body = slash_command_body(
                text="team/app:1.0",
                user_id=ALICE,
                channel_id="C0WATCH",
                response_url=slack.response_url("follow"),
            )
            httpx.post(
                f"{first.url}/slack/events",
                content=body,
                headers=signed_headers(SIGNING_SECRET, body),
                timeout=3,
            )
            slack.wait_for_calls("chat.postMessage", 1, timeout=20)
            (parent,) = slack.messages("C0WATCH")
            asked = sum(r.path.endswith("/registry/progress") for r in console.requests)
            console.inject_fault(
                "delay", count=10**6, delay_seconds=HANG_SECONDS, path_contains="/registry/progress"
            )
            console.wait_for_requests(
                lambda r: r.path.endswith("/registry/progress"), count=asked + 1, timeout=20
            )
            stopped_at = time.monotonic()
            first.proc.send_signal(signal.SIGTERM)
            assert first.proc.wait(timeout=30) == 0
            took = time.monotonic() - stopped_at
            assert took < PROMPT, f"the stop waited for the console ({took:.1f} s)"
        finally:
            first.close()
        console.clear_faults()
        second = BotProcess(env, log)
        try:
            second.wait_healthy()
            wait_for(
                lambda: "complete" in json.dumps(slack.thread("C0WATCH", parent["ts"])).lower(),
                timeout=60,
            )
            assert len(slack.messages("C0WATCH")) == 1  # the same thread, no second parent
        finally:
            second.close()
    assert "Traceback" not in log.read_text()
