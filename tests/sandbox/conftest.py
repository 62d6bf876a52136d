"""Fixtures of the sandbox console tests: a manual clock and a running console."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from tests.sandbox.console_support import BASIC, make_client
from tests.sandbox.openapi import load_components
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
