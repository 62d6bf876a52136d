"""ConsoleClient over httpx.MockTransport: API version detection and ping."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
import stamina

from bot.console.client import ConsoleClient
from bot.console.errors import ConsoleUnavailable, UnexpectedResponse
from tests.console.conftest import API, FakeConsole, console_settings

MakeClient = Callable[..., ConsoleClient]


# --- API version ----------------------------------------------------------------------------


def test_api_version_is_detected_once_across_threads(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    client = make_client(console_settings(prisma_api_version=None))
    seen: list[str] = []
    barrier = threading.Barrier(8)

    def read() -> None:
        barrier.wait()
        seen.append(client.api_version)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == ["v34.04"] * 8
    assert [r.url.path for r in fake.requests] == ["/api/v1/authenticate", "/api/v1/version"]
    client.progress()
    assert fake.requests[-1].url.path == f"{API}/registry/progress"
    assert len(fake.calls("authenticate")) == 1  # the v1 token serves the versioned API


def test_pinned_api_version_is_not_asked(fake: FakeConsole, make_client: MakeClient) -> None:
    client = make_client(console_settings(prisma_api_version="34.03"))
    assert client.api_version == "v34.03"
    client.progress()
    assert fake.calls("version") == []
    assert fake.requests[-1].url.path == "/api/v34.03/registry/progress"


def test_version_returns_console_version_string(fake: FakeConsole, make_client: MakeClient) -> None:
    assert make_client().version() == "34.04.145"


def test_failed_version_detection_is_not_cached(fake: FakeConsole, make_client: MakeClient) -> None:
    stamina.set_testing(True, attempts=1)
    client = make_client(console_settings(prisma_api_version=None))
    fake.script("version", httpx.Response(503))
    with pytest.raises(ConsoleUnavailable):
        _ = client.api_version
    assert client.api_version == "v34.04"


def test_garbage_version_is_unexpected(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.version = "unknown"
    with pytest.raises(UnexpectedResponse):
        _ = make_client(console_settings(prisma_api_version=None)).api_version


# --- ping -----------------------------------------------------------------------------------


def test_ping_needs_no_credentials(fake: FakeConsole, make_client: MakeClient) -> None:
    make_client().ping()
    (request,) = fake.requests
    assert request.url.path == "/api/v1/_ping"
    assert "Authorization" not in request.headers


def test_ping_authenticates_when_the_console_asks(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.script("_ping", httpx.Response(401), httpx.Response(200, text="OK"))
    make_client().ping()
    assert fake.requests[-1].headers["Authorization"].startswith("Bearer ")


def test_ping_of_unreachable_console_is_unavailable(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.script("_ping", *[httpx.ConnectError("refused")] * 3)
    with pytest.raises(ConsoleUnavailable, match="could not be reached") as caught:
        make_client().ping()
    assert "console.example.test:8083" in caught.value.detail  # for the log
    assert "8083" not in str(caught.value)  # not for the user
