"""Fixtures for the console client tests: settings, JWTs and an in-memory fake console."""

from __future__ import annotations

import base64
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stamina

from bot.config.settings import Settings, load_settings
from bot.console.client import ConsoleClient

USER = "scanbot-user"
PASSWORD = "s3cret-Pa55word!"  # a test credential
CONSOLE_URL = "https://console.example.test:8083"
API = "/api/v34.04"


def make_jwt(**claims: Any) -> str:
    """An unsigned JWT carrying ``claims`` (the client never checks signatures)."""

    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def console_settings(**overrides: Any) -> Settings:
    """Settings for the fake console, API version pinned unless overridden."""
    values: dict[str, Any] = {
        "prisma_console_url": CONSOLE_URL,
        "prisma_user": USER,
        "prisma_password": PASSWORD,
        "prisma_api_version": "v34.04",
    }
    values.update(overrides)
    return load_settings(environ={}, **values)


Scripted = httpx.Response | Exception


class FakeConsole:
    """A ``MockTransport`` handler that behaves like the console's API.

    ``script(endpoint, *answers)`` queues answers (responses, or exceptions to raise) for
    an endpoint such as ``"registry/progress"``; unscripted calls get a default answer,
    after the authorization check a real console would make.
    """

    def __init__(self, *, clock: Callable[[], float] = lambda: 1_700_000_000.0) -> None:
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.version = "34.04.145"
        self.progress_body: object = []
        self.registry_body: object = []
        self.token_lifetime = 600.0
        self.issued: list[str] = []
        self.valid_tokens: set[str] = set()
        self._scripts: dict[str, list[Scripted]] = defaultdict(list)
        self._lock = threading.Lock()

    def script(self, endpoint: str, *answers: Scripted) -> None:
        self._scripts[endpoint].extend(answers)

    def calls(self, endpoint: str) -> list[httpx.Request]:
        return [r for r in self.requests if _endpoint(r.url.path) == endpoint]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            endpoint = _endpoint(request.url.path)
            queued = self._scripts.get(endpoint)
            if queued:
                answer = queued.pop(0)
                if isinstance(answer, Exception):
                    raise answer
                return answer
            return self._default(request, endpoint)

    def _default(self, request: httpx.Request, endpoint: str) -> httpx.Response:
        if endpoint == "authenticate":
            body = json.loads(request.content)
            if body != {"username": USER, "password": PASSWORD}:
                return httpx.Response(401, json={"err": "invalid credentials"})
            now = self.clock()
            token = make_jwt(
                sub=USER, iat=int(now), exp=int(now + self.token_lifetime), n=len(self.issued)
            )
            self.issued.append(token)
            self.valid_tokens.add(token)
            return httpx.Response(200, json={"token": token})
        if endpoint == "_ping":
            return httpx.Response(200, text="OK")
        if not self._authorized(request.headers.get("Authorization", "")):
            return httpx.Response(401, text="Unauthorized")
        if endpoint == "version":
            return httpx.Response(200, json=self.version)
        if endpoint == "registry/progress":
            return _json_response(self.progress_body)
        if endpoint == "registry/scan":
            return httpx.Response(200)
        if endpoint == "registry":
            return _json_response(self.registry_body)
        return httpx.Response(404, text="404 page not found")

    def _authorized(self, header: str) -> bool:
        if header.startswith("Bearer "):
            return header.removeprefix("Bearer ") in self.valid_tokens
        expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return header == f"Basic {expected}"


def _json_response(body: object) -> httpx.Response:
    """200 with ``body`` as JSON (``None`` becomes ``null``, not an empty body)."""
    content = json.dumps(body).encode()
    return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})


def _endpoint(path: str) -> str:
    """``/tenant/api/v34.04/registry/progress`` -> ``registry/progress``."""
    _, _, rest = path.partition("/api/")
    return rest.partition("/")[2]


class FakeClock:
    """A settable wall clock."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def instant_retries() -> Iterator[None]:
    """Retries without waiting, three attempts (``stamina.set_testing``); a test can call
    ``stamina.set_testing(True, attempts=n)`` itself for another count."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeConsole:
    return FakeConsole(clock=clock)


@pytest.fixture
def make_client(fake: FakeConsole, clock: FakeClock) -> Iterator[Callable[..., ConsoleClient]]:
    """Build clients on the fake console; all are closed afterwards."""
    clients: list[ConsoleClient] = []

    def build(settings: Settings | None = None, **kwargs: Any) -> ConsoleClient:
        options: dict[str, Any] = {
            "transport": httpx.MockTransport(fake),
            "clock": clock,
        }
        options.update(kwargs)
        client = ConsoleClient(settings or console_settings(), **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
