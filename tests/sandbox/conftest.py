"""Fixtures of the sandbox tests: a manual clock, a running console, a running Slack
stand-in and a ``WebClient`` talking to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack import SlackApiStandIn
from tests.sandbox.console_support import BASIC, make_client
from tests.sandbox.openapi import load_components
from tests.sandbox.slack_support import TOKEN
from tests.support.clocks import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def console(clock: ManualClock) -> Iterator[SandboxConsole]:
    with SandboxConsole(SandboxConsoleConfig(step_seconds=1.0), clock=clock) as running:
        yield running


@pytest.fixture
def http(console: SandboxConsole) -> Iterator[httpx.Client]:
    """A client authenticating with HTTP Basic on every call."""
    with make_client(console.url, auth=BASIC) as client:
        yield client


@pytest.fixture
def anon(console: SandboxConsole) -> Iterator[httpx.Client]:
    with make_client(console.url) as client:
        yield client


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    """The OpenAPI subset's schemas (the test is skipped when the file is absent)."""
    return load_components()


@pytest.fixture
def stand_in() -> Iterator[SlackApiStandIn]:
    # The semantics of methods; the rate limits have tests of their own (test_slack_limits).
    with SlackApiStandIn(token=TOKEN, rate_limits=False).start() as server:
        yield server


@pytest.fixture
def client(stand_in: SlackApiStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=stand_in.api_url, timeout=5)
