"""The whole bot wired to real loopback servers: simulated console, Slack stand-in, HTTP.

Slash commands and button clicks reach the bot as HTTP requests signed exactly as Slack
signs them; the bot talks to the simulated console and the Slack Web API stand-in over
real HTTP.  Polls run when a test calls :meth:`BotHarness.poll` (no scheduler), so tests
are deterministic.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.config.settings import Settings, load_settings
from bot.domain.images import parse_image_reference
from bot.runtime import Runtime, build_runtime
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.signing import (
    app_home_opened_body,
    block_action_body,
    signed_headers,
    slash_command_body,
)
from bot.server import BackgroundServer, build_wsgi_app
from bot.watcher.job import CycleReport
from tests.support.clocks import ManualNow
from tests.support.delivery import drain

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0CHAN"
ALICE = "U0ALICE"


def harness_settings(
    console: SandboxConsole, slack: SlackApiStandIn, database: Path, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "prisma_console_url": console.url,
        "prisma_user": "sandbox",
        "prisma_password": "sandbox-password",
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "scanbot_database_url": f"sqlite:///{database}",
        "scanbot_poll_seconds": 1,
        "scanbot_thread_update_seconds": 0,
    }
    values.update(overrides)
    return load_settings({}, **values)


@dataclass
class BotHarness:
    console: SandboxConsole
    slack: SlackApiStandIn
    runtime: Runtime
    url: str
    clock: ManualNow
    http: httpx.Client  # one keep-alive client, as Slack reuses its connections

    def command(
        self, text: str, *, user_id: str = ALICE, channel_id: str = CHANNEL
    ) -> httpx.Response:
        """POST ``/scanprogress <text>`` to the bot, signed as Slack signs it."""
        body = slash_command_body(
            text=text,
            user_id=user_id,
            channel_id=channel_id,
            response_url=self.slack.response_url(f"cmd-{len(self.slack.responses)}"),
            trigger_id=uuid.uuid4().hex,  # unique, as Slack's: a repeat would be a replay
        )
        return self._post(body)

    def click_stop(
        self,
        watch_id: int,
        *,
        user_id: str = ALICE,
        channel_id: str = CHANNEL,
        message_ts: str = "",
    ) -> httpx.Response:
        body = block_action_body(
            action_id="stop_watch",
            value=str(watch_id),
            user_id=user_id,
            channel_id=channel_id,
            message_ts=message_ts,
            response_url=self.slack.response_url("action"),
        )
        return self._post(body)

    def click(
        self, action_id: str, value: str, *, user_id: str = ALICE, channel_id: str = CHANNEL
    ) -> httpx.Response:
        """Click a button (``action_id``, ``value``) as Slack would send it."""
        body = block_action_body(
            action_id=action_id,
            value=value,
            user_id=user_id,
            channel_id=channel_id,
            message_ts="",
            response_url=self.slack.response_url("action"),
        )
        return self._post(body)

    def open_home(self, *, user_id: str = ALICE) -> httpx.Response:
        """The user opens the app's Home tab: an ``app_home_opened`` event, signed."""
        body = app_home_opened_body(user_id=user_id)
        headers = {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/json"}
        return self.http.post(f"{self.url}/slack/events", content=body, headers=headers)

    def _post(self, body: bytes) -> httpx.Response:
        headers = signed_headers(SIGNING_SECRET, body)
        return self.http.post(f"{self.url}/slack/events", content=body, headers=headers)

    def poll(self) -> CycleReport:
        """One poll cycle, then deliver what it owes (the sender's thread is not running)."""
        report = self.runtime.poll_once()
        self.deliver()
        return report

    def deliver(self) -> None:
        """Deliver every message due now, as the sender's thread would."""
        drain(self.runtime.sender)

    def follow(self, text: str = "alpine:3.16", *, channel_id: str = CHANNEL) -> str:
        """``/scanprogress <text>`` in ``channel_id``; returns the parent message's ts."""
        self.command(text, channel_id=channel_id)
        key = parse_image_reference(text).key
        self.wait_until(
            lambda: any(
                w.target.key == key and w.parent_ts is not None
                for w in self.runtime.store.list_open(channel_id=channel_id)
            )
        )
        watch = self.runtime.store.find_open(channel_id=channel_id, target_key=key)
        assert watch is not None
        assert watch.parent_ts is not None
        return watch.parent_ts

    def wait_for_active_watches(self, count: int, *, channel_id: str | None = None) -> None:
        """Wait until ``count`` watches have their parent posted (the listener finished)."""
        self.wait_until(
            lambda: (
                sum(
                    w.parent_ts is not None
                    for w in self.runtime.store.list_open(channel_id=channel_id)
                )
                >= count
            )
        )

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait for work the bot does after acking (listeners run on bolt's threads)."""
        deadline = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if condition():
                return
            deadline.wait(0.02)
        raise AssertionError("condition not met in time")


@contextmanager
def running_bot(
    tmp_path: Path,
    *,
    console_config: SandboxConsoleConfig | None = None,
    console_clock: Callable[[], float] | None = None,
    strict_slack: bool = False,
    **overrides: Any,
) -> Iterator[BotHarness]:
    """Start the simulated console, the Slack stand-in and the bot's HTTP server.

    By default the stand-in never rate-limits by itself and the bot keeps no budget (posts
    unpaced: quick tests); ``strict_slack`` holds the stand-in to Slack's published limits
    and the bot to its budget of them, as in production."""
    config = console_config or SandboxConsoleConfig()
    console_kwargs: dict[str, Any] = {"clock": console_clock} if console_clock else {}
    with (
        SandboxConsole(config, **console_kwargs).start() as console,
        SlackApiStandIn(token=BOT_TOKEN, rate_limits=strict_slack).start() as slack,
    ):
        clock = ManualNow()
        settings = harness_settings(console, slack, tmp_path / "scanbot.db", **overrides)
        runtime = build_runtime(
            settings, clock=clock, channel_interval=0.0, rate_budget=strict_slack
        )
        # Serving Slack from here on; polls are the test's (no scheduler is started).
        runtime.monitor.running()
        server = BackgroundServer(build_wsgi_app(runtime, serve_slack=True)).start()
        http = httpx.Client(timeout=10)
        try:
            url = f"http://127.0.0.1:{server.port}"
            yield BotHarness(console, slack, runtime, url, clock, http)
        finally:
            http.close()
            server.stop()
            runtime.shutdown()
