"""A stage for fault tests against ``scanbot run`` as a process.

:class:`Stage` holds the simulated console (on a manual clock), the Slack stand-in and the
bot process, and counts per watch what people in the channel would see: parents,
completion replies, and every ack that did not come within Slack's 3 s (an HTTP client
timeout of 3 s, as Slack's).  While a test waits for a scan to end, ``/scanprogress help``
is asked every half second and must keep answering.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import ALICE, BOT_TOKEN, SIGNING_SECRET
from tests.support.process import BotProcess, bot_env

SLACK_BUDGET = 3.0  # seconds Slack waits for an ack


@dataclass
class Counts:
    """What one watch left in its channel, and how the bot answered meanwhile."""

    parents: int
    completions: int
    slow_acks: int
    help_answers: int


@dataclass
class Stage:
    console: SandboxConsole
    clock: ManualClock
    slack: SlackApiStandIn
    env: dict[str, str]
    log: Path
    bot: BotProcess | None = None
    slow_acks: int = 0
    help_answers: int = 0
    acks: list[str] = field(default_factory=list)
    _sent: int = 0

    # --- the process ---------------------------------------------------------------

    def start(self) -> BotProcess:
        self.bot = BotProcess(self.env, self.log)
        self.bot.wait_healthy()
        return self.bot

    def kill(self) -> None:
        assert self.bot is not None
        self.bot.proc.kill()
        self.bot.proc.wait(timeout=10)
        self.bot.close()
        self.bot = None

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    # --- Slack's side ----------------------------------------------------------------

    def slash(self, text: str, channel: str) -> httpx.Response | None:
        """``/scanprogress text`` as Slack sends it; None when no answer came within 3 s."""
        assert self.bot is not None
        self._sent += 1
        body = slash_command_body(
            text=text,
            user_id=ALICE,
            channel_id=channel,
            response_url=self.slack.response_url(f"r{self._sent}"),
            trigger_id=f"stage-{self._sent}",
        )
        try:
            with httpx.Client(timeout=SLACK_BUDGET) as client:
                response = client.post(
                    f"{self.bot.url}/slack/events",
                    content=body,
                    headers=signed_headers(SIGNING_SECRET, body),
                )
        except httpx.HTTPError:
            self.slow_acks += 1
            return None
        if response.status_code != 200:
            self.slow_acks += 1
            return None
        self.acks.append(response.text)
        return response

    def help_answers_now(self, channel: str) -> bool:
        response = self.slash("help", channel)
        answered = response is not None and "/scanprogress" in response.text
        self.help_answers += answered
        return answered

    def start_scan(self, image: str) -> None:
        self.console.start_on_demand_scan(image, tag="1.0", discovery_total=1, images=2)

    def follow(self, image: str, channel: str) -> httpx.Response | None:
        return self.slash(f"{image}:1.0", channel)

    def finish_scans(self) -> None:
        """Every scan started so far finishes (console time moves on)."""
        self.clock.advance(10 * STEP)

    def wait(self, condition: Callable[[], object], *, channel: str, timeout: float) -> None:
        """Wait for ``condition``, asking ``help`` every half second meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            self.help_answers_now(channel)
            time.sleep(0.5)
        raise AssertionError(f"condition not met in {timeout:.0f} s; log:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_lines()[-lines:])

    # --- what the channel shows ----------------------------------------------------------

    def parents(self, channel: str) -> list[dict[str, object]]:
        return self.slack.messages(channel)

    def completions(self, channel: str) -> int:
        total = 0
        for parent in self.parents(channel):
            thread = self.slack.thread(channel, str(parent["ts"]))
            total += sum("Scan complete" in json.dumps(m) for m in thread)
        return total

    def counts(self, channel: str) -> Counts:
        return Counts(
            parents=len(self.parents(channel)),
            completions=self.completions(channel),
            slow_acks=self.slow_acks,
            help_answers=self.help_answers,
        )


@contextmanager
def stage(tmp_path: Path, **env: str) -> Iterator[Stage]:
    """The stand-ins and a running bot process (SQLite); ``env`` adds settings."""
    clock = ManualClock(start=1_000.0)
    config = SandboxConsoleConfig(step_seconds=STEP)
    with (
        SandboxConsole(config, clock=clock).start() as console,
        SlackApiStandIn(token=BOT_TOKEN).start() as slack,
    ):
        database = f"sqlite:///{tmp_path / 'scanbot.db'}"
        on_stage = Stage(
            console,
            clock,
            slack,
            bot_env(console, slack, database, **env),
            tmp_path / "scanbot.log",
        )
        on_stage.start()
        try:
            yield on_stage
        finally:
            if on_stage.bot is not None:
                on_stage.bot.close()


def gauge(stage_: Stage, name: str) -> float | None:
    """A gauge from the bot's ``/metrics`` (None when it cannot be read now)."""
    assert stage_.bot is not None
    try:
        text = httpx.get(f"{stage_.bot.url}/metrics", timeout=SLACK_BUDGET).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def settled(stage_: Stage) -> bool:
    """Nothing open, nothing owed: the bot has said all it will say."""
    return (
        gauge(stage_, "scanbot_open_watches") == 0 and gauge(stage_, "scanbot_outbox_pending") == 0
    )
