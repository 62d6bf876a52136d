"""Fixtures shared by the integration tests: a manual console clock and a running bot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.console import SandboxConsoleConfig
from bot.sandbox.console_state import ManualClock
from tests.support.harness import BotHarness, running_bot

#: Seconds of console time per scan item in the integration tests' sandbox scans.
STEP = 10.0


@pytest.fixture
def console_clock() -> ManualClock:
    """The simulated console's clock; tests move scans forward with ``advance()``."""
    return ManualClock(start=1_000.0)


@pytest.fixture
def bot(tmp_path: Path, console_clock: ManualClock) -> Iterator[BotHarness]:
    """The bot behind waitress, with the simulated console and the Slack stand-in."""
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(tmp_path, console_config=config, console_clock=console_clock) as harness:
        yield harness
