"""Structured log fields: JSON lines carry ``channel``, ``user``, ``image``, ``watch_id``,
``thread``, ``outcome`` and ``duration_ms`` as fields, set once at the boundaries."""

from __future__ import annotations

import io
import json
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.process.logcontext import current_fields, log_context
from bot.process.logging_setup import build_handler
from bot.process.workqueue import WorkQueue
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.faults import fail_next
from tests.support.harness import ALICE, BOT_TOKEN, CHANNEL, SIGNING_SECRET
from tests.support.process import BotProcess, bot_env, wait_for
from tests.test_cli import scanbot


def json_lines(text: str) -> list[dict[str, object]]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is JSON, or this fails


def test_fields_of_the_enclosing_context_land_on_json_lines_and_extra_wins() -> None:
    stream = io.StringIO()
    handler = build_handler("json")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logger = logging.getLogger("tests.structured")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with log_context(channel="C1", user="U1", unknown="dropped", image=None):
            with log_context(watch_id=7, image="alpine:3.16"):
                logger.warning("inner", extra={"outcome": "ok", "duration_ms": 12})
            logger.warning("outer")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    inner, outer, outside = json_lines(stream.getvalue())
    assert inner["channel"] == "C1"
    assert inner["user"] == "U1"
    assert inner["watch_id"] == 7
    assert inner["image"] == "alpine:3.16"
    assert inner["outcome"] == "ok"
    assert inner["duration_ms"] == 12
    assert "unknown" not in inner
    assert "watch_id" not in outer
    assert outer["channel"] == "C1"
    assert "channel" not in outside


def test_work_queued_after_the_ack_keeps_the_requests_fields() -> None:
    queue = WorkQueue(threads=2, capacity=4)
    seen: list[dict[str, object]] = []
    done = threading.Event()

    def work() -> None:
        seen.append(dict(current_fields()))
        done.set()

    with log_context(channel="C9", user="U9"):
        reservation = queue.reserve()
        assert reservation is not None
        reservation.submit(work, on_error=lambda _e: None, on_dropped=lambda: None)
    assert done.wait(10)
    queue.close()
    assert seen == [{"channel": "C9", "user": "U9"}]
    assert dict(current_fields()) == {}  # nothing leaked into the submitting thread


@pytest.fixture
def console(console_clock: ManualClock) -> Iterator[SandboxConsole]:
    with SandboxConsole(SandboxConsoleConfig(step_seconds=STEP), clock=console_clock).start() as c:
        yield c


def test_a_real_run_in_json_mode_logs_fields_at_the_request_the_watch_and_the_thread(
    console: SandboxConsole, console_clock: ManualClock, tmp_path: Path
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    log = tmp_path / "scanbot.log"
    with SlackApiStandIn(token=BOT_TOKEN).start() as slack:
        env = bot_env(
            console,
            slack,
            f"sqlite:///{tmp_path / 'scanbot.db'}",
            SCANBOT_LOG_FORMAT="json",
            SCANBOT_LOG_LEVEL="DEBUG",
        )
        bot = BotProcess(env, log)
        try:
            bot.wait_healthy()
            body = slash_command_body(
                text="alpine 3.16",
                user_id=ALICE,
                channel_id=CHANNEL,
                response_url=slack.response_url(),
            )
            headers = signed_headers(SIGNING_SECRET, body)
            assert httpx.post(f"{bot.url}/slack/events", content=body, headers=headers).is_success
            slack.wait_for_calls("chat.postMessage", 1, timeout=20)
            (parent,) = slack.messages(CHANNEL)
            # The console fails for the watch once (logged under the watch), and Slack refuses
            # the next reply once (logged under the thread).
            console.inject_fault("5xx", count=8, path_contains="registry/progress")
            fail_next(slack, "chat.postMessage", error="internal_error", count=1)
            console_clock.advance(STEP + 1)
            wait_for(lambda: "console error for" in log.read_text(), timeout=30)
            console.clear_faults()
            console_clock.advance(10 * STEP)
            wait_for(
                lambda: "complete" in json.dumps(slack.thread(CHANNEL, parent["ts"])[-1:]).lower(),
                timeout=60,
            )
            bot.proc.send_signal(signal.SIGTERM)
            assert bot.proc.wait(timeout=20) == 0
        finally:
            bot.close()
    lines = json_lines(log.read_text())
    command = next(line for line in lines if str(line["message"]).startswith("/scanprogress"))
    assert command["channel"] == CHANNEL
    assert command["user"] == ALICE
    watch = next(line for line in lines if str(line["message"]).startswith("console error for"))
    assert watch["image"] == "library/alpine:3.16"
    assert watch["channel"] == CHANNEL
    assert isinstance(watch["watch_id"], int)
    cycle = next(line for line in lines if str(line["message"]).startswith("poll cycle:"))
    assert cycle["outcome"] == "ok"
    assert isinstance(cycle["duration_ms"], int)
    failing = next(line for line in lines if "Slack calls are failing" in str(line["message"]))
    assert failing["thread"] == f"watch:{watch['watch_id']}"
    delivered = [line for line in lines if line["message"] == "thread delivery pass: delivered"]
    assert delivered
    assert all(line["outcome"] == "delivered" and "duration_ms" in line for line in delivered)


def test_a_start_up_failure_in_json_mode_is_a_json_line(tmp_path: Path) -> None:
    result = scanbot(
        "run",
        env={
            "SCANBOT_LOG_FORMAT": "json",
            "SLACK_BOT_TOKEN": "xoxb-in-env",
            "SLACK_BOT_TOKEN_FILE": str(tmp_path / "missing"),
        },
    )
    assert result.returncode == 3
    (line,) = json_lines(result.stderr)
    assert line["level"] == "CRITICAL"
    assert "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set" in str(line["message"])
    assert "xoxb-in-env" not in result.stderr
