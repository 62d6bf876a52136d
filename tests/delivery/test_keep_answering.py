"""``/scanprogress`` keeps answering whatever Slack, the console or the database do.

Requests go over real HTTP to the bot behind waitress, signed as Slack signs them, with an
HTTP client whose timeout is Slack's own 3 s: a reply that took longer would fail the test
the way Slack would fail the user.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from bot.sandbox.console import SandboxConsoleConfig
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import ALICE, CHANNEL, SIGNING_SECRET, BotHarness, running_bot

SLACK_BUDGET = 3.0  # seconds Slack waits for an ack


@pytest.fixture
def small_bot(tmp_path: Path, console_clock: ManualClock) -> Iterator[BotHarness]:
    """A bot with a work queue of 2 threads and room for 3 pieces of work."""
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path,
        console_config=config,
        console_clock=console_clock,
        scanbot_work_threads=2,
        scanbot_work_queue_size=3,
    ) as harness:
        yield harness


def slash(bot: BotHarness, text: str, *, n: int = 0) -> httpx.Response:
    body = slash_command_body(
        text=text,
        user_id=ALICE,
        channel_id=CHANNEL,
        response_url=bot.slack.response_url(f"r{n}"),
        trigger_id=f"trigger-{n}-{text}",
    )
    with httpx.Client(timeout=SLACK_BUDGET) as client:
        return client.post(
            f"{bot.url}/slack/events", content=body, headers=signed_headers(SIGNING_SECRET, body)
        )


def test_help_and_bad_input_answer_while_the_console_hangs_and_the_queue_is_full(
    small_bot: BotHarness,
) -> None:
    bot = small_bot
    bot.console.inject_fault("delay", count=10, delay_seconds=2.5, path_contains="progress")
    acks = [slash(bot, f"team/app{n}:1.0", n=n) for n in range(5)]

    help_ack = slash(bot, "help", n=10)
    bad_ack = slash(bot, "alpine::", n=11)

    assert [a.status_code for a in acks] == [200] * 5
    looking = [a for a in acks if "Looking up" in a.text]
    busy = [a for a in acks if "busy" in a.text]
    assert (len(looking), len(busy)) == (3, 2)  # three taken, two told to try again
    assert "Try again in a moment" in busy[0].text
    assert help_ack.status_code == 200
    assert "/scanprogress" in help_ack.text
    assert bad_ack.status_code == 200
    assert "alpine" in bad_ack.text


def test_follows_are_acked_while_slack_rate_limits_every_call_and_posted_later(
    bot: BotHarness,
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    bot.slack.rate_limit_next("chat.postMessage", retry_after=1, count=2)

    ack = slash(bot, "alpine:3.16")
    help_ack = slash(bot, "help", n=1)

    assert ack.status_code == 200
    assert "Looking up" in ack.text
    assert help_ack.status_code == 200
    bot.wait_until(lambda: len(bot.runtime.store.list_open()) == 1)
    bot.runtime.work.wait_idle()
    sender = bot.runtime.sender
    bot.wait_until(lambda: sender.held("chat.postMessage", CHANNEL) == 0)  # Retry-After
    bot.clock.advance(30)
    bot.deliver()
    assert len(bot.slack.messages(CHANNEL)) == 1


def test_a_follow_while_the_database_cannot_be_written_is_told_plainly(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)

    def read_only(**_kwargs: object) -> object:
        raise OperationalError("INSERT", {}, Exception("attempt to write a readonly database"))

    monkeypatch.setattr(bot.runtime.store, "create_watch", read_only)
    ack = slash(bot, "alpine:3.16")

    assert ack.status_code == 200
    (reply,) = bot.slack.wait_for_responses(1)
    assert "cannot store watches right now" in json.dumps(reply.body)


def test_a_database_that_cannot_be_written_is_named_by_readyz_not_failed_by_healthz(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.runtime.scheduler.start(paused=True)  # liveness needs a running scheduler
    healthz, readyz = f"{bot.url}/healthz", f"{bot.url}/readyz"
    assert httpx.get(healthz).status_code == 200

    def full_disk() -> object:
        raise OperationalError("SELECT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(bot.runtime.store, "open_revisions", full_disk)
    bot.runtime.supervisor.run()
    live, failing = httpx.get(healthz), httpx.get(readyz)
    monkeypatch.undo()
    monkeypatch.setattr(bot.runtime.supervisor, "_resume_at", 0.0)
    bot.runtime.supervisor.run()

    assert live.status_code == 200  # an outside fault: restarting would not fix it
    assert failing.status_code == 200  # still answers Slack, with the bot's own words
    assert failing.json()["database"] == "unreachable"
    assert "database" not in httpx.get(readyz).json().get("reasons", {})


def test_a_deleted_database_file_is_recreated_with_a_warning(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    bot.follow()
    path = bot.runtime.store.sqlite_file()
    assert path is not None
    bot.runtime.store.close()
    path.unlink()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)

    bot.runtime.supervisor.run()
    bot.runtime.supervisor.run()

    assert path.exists()
    assert any("was changed under the running bot" in r.getMessage() for r in caplog.records)
    assert bot.runtime.store.list_open() == []
    assert bot.runtime.store.ping()
