"""ConsoleClient against the simulated console over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.config.settings import load_settings
from bot.console.client import ConsoleClient
from bot.console.errors import RateLimited, UnexpectedResponse
from bot.domain.images import ScanTarget
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from tests.support.clocks import ManualClock
from tests.support.faults import expire_tokens

ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
IMAGE_PARAMS = ("repo", "tag", "digest", "registry")
MakeClient = Callable[..., ConsoleClient]


@pytest.fixture
def sandbox_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(sandbox_clock: ManualClock) -> Iterator[SandboxConsole]:
    config = SandboxConsoleConfig(step_seconds=1.0)
    with SandboxConsole(config, clock=sandbox_clock).start() as console:
        yield console


@pytest.fixture
def client_for(sandbox: SandboxConsole) -> Iterator[MakeClient]:
    """Clients of the running sandbox (version detected unless pinned)."""
    clients: list[ConsoleClient] = []

    def build(**overrides: Any) -> ConsoleClient:
        values: dict[str, Any] = {
            "prisma_console_url": sandbox.url,
            "prisma_user": sandbox.config.user,
            "prisma_password": sandbox.config.password,
            "prisma_timeout_seconds": 5,
        }
        values.update(overrides)
        client = ConsoleClient(load_settings(environ={}, **values))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def paths(console: SandboxConsole, endpoint: str) -> list[str]:
    return [r.path for r in console.requests if r.path.endswith("/" + endpoint)]


def test_version_is_detected_over_v1_then_used(
    sandbox: SandboxConsole, client_for: MakeClient
) -> None:
    client = client_for()
    assert client.api_version == "v34.04"
    assert client.version() == "34.04.145"
    client.progress()
    assert [(r.method, r.path) for r in sandbox.requests] == [
        ("POST", "/api/v1/authenticate"),
        ("GET", "/api/v1/version"),
        ("GET", "/api/v34.04/version"),
        ("GET", "/api/v34.04/registry/progress"),
    ]


def test_ping_needs_no_credentials(sandbox: SandboxConsole, client_for: MakeClient) -> None:
    client_for().ping()
    (request,) = sandbox.requests
    assert request.path == "/api/v1/_ping"
    assert request.authorization_scheme is None


def test_token_auth_and_one_reauthentication_after_expiry(
    sandbox: SandboxConsole, client_for: MakeClient
) -> None:
    client = client_for(prisma_api_version="v34.04")
    client.progress()
    client.progress(ALPINE)
    assert len(paths(sandbox, "authenticate")) == 1
    expire_tokens(sandbox)
    assert client.progress() == []
    assert len(paths(sandbox, "authenticate")) == 2
    api_calls = [r for r in sandbox.requests if not r.path.endswith("/authenticate")]
    assert {r.authorization_scheme for r in api_calls} == {"Bearer"}
    assert len(api_calls) == 4  # the refused call was repeated once


def test_basic_auth_never_authenticates(sandbox: SandboxConsole, client_for: MakeClient) -> None:
    client = client_for(prisma_auth="basic", prisma_api_version="v34.04")
    client.progress()
    client.trigger_scan(ALPINE)
    assert paths(sandbox, "authenticate") == []
    assert {r.authorization_scheme for r in sandbox.requests} == {"Basic"}


def test_on_demand_progress_then_complete_once_then_empty(
    sandbox: SandboxConsole, sandbox_clock: ManualClock, client_for: MakeClient
) -> None:
    sandbox.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=2)
    client = client_for()
    (ongoing,) = client.progress(ALPINE)
    assert ongoing.is_scan_ongoing
    assert ongoing.discovery.total == 1
    sandbox_clock.advance(2)
    (scanning,) = client.progress(ALPINE)
    assert scanning.is_scan_ongoing
    assert (scanning.image_scan.scanned, scanning.image_scan.total) == (1, 2)
    sandbox_clock.advance(1)
    (done,) = client.progress(ALPINE)
    assert not done.is_scan_ongoing
    assert done.image_scan.scanned == done.image_scan.total == 2
    assert client.progress(ALPINE) == []  # the finished entry is served exactly once


def test_regular_scan_progress(
    sandbox: SandboxConsole, sandbox_clock: ManualClock, client_for: MakeClient
) -> None:
    sandbox.start_regular_scan(registry="registry.example.com", repositories=4, images=12)
    sandbox_clock.advance(6)  # 4 repositories discovered, 2 images scanned
    (entry,) = client_for().progress()
    assert entry.is_scan_ongoing
    assert (entry.discovery.scanned, entry.discovery.total) == (4, 4)
    assert (entry.image_scan.scanned, entry.image_scan.total) == (2, 12)
    assert entry.spec_scan_start_time is not None
    assert "registry.example.com" in entry.image_scan.title


def test_trigger_scan_then_progress_and_result(
    sandbox: SandboxConsole, client_for: MakeClient
) -> None:
    client = client_for()
    client.trigger_scan(ALPINE)
    (entry,) = client.progress(ALPINE)
    assert entry.is_scan_ongoing
    assert client.scan_result(ALPINE) is None  # nothing scanned yet
    sandbox.finish_all()
    result = client.scan_result(ALPINE)
    assert result is not None
    assert result.image == "library/alpine:3.16"
    assert result.error == ""
    # A compact answer keeps the count (the sandbox may drop the distribution).
    assert result.vulnerabilities_count >= result.vulnerabilities.total
    assert result.scan_time is not None
    requests = [r for r in sandbox.requests if r.path == "/api/v34.04/registry"]
    assert len(requests) == 2
    for request in requests:
        assert request.query["repository"] == ["library/alpine"]
        assert request.query["compact"] == ["true"]
        assert request.query["sort"] == ["scanTime"]
        assert request.query["reverse"] == ["true"]
    (scan,) = [r for r in sandbox.requests if r.path == "/api/v34.04/registry/scan"]
    # shared.ImageTag: fields the target leaves unset are omitted (Go reads them as "").
    assert scan.body == {"onDemandScan": True, "tag": {"repo": "library/alpine", "tag": "3.16"}}


def test_scan_result_of_other_registry_and_failed_scan(
    sandbox: SandboxConsole, client_for: MakeClient
) -> None:
    target = ScanTarget(repo="team/app", tag="1.2", registry="reg.example.com:5000")
    sandbox.start_on_demand_scan(
        "team/app", tag="1.2", registry="reg.example.com:5000", images=2, fail_with="pull failed"
    )
    sandbox.start_on_demand_scan("team/app", tag="1.2")  # same repo on Docker Hub
    sandbox.finish_all()
    result = client_for().scan_result(target)
    assert result is not None
    assert result.image == "reg.example.com:5000/team/app:1.2"
    assert result.error == "pull failed"


def test_5xx_is_retried_transparently(sandbox: SandboxConsole, client_for: MakeClient) -> None:
    client = client_for(prisma_api_version="v34.04")
    sandbox.inject_fault("5xx", count=2, path_contains="/registry/progress")
    assert client.progress() == []
    assert len(paths(sandbox, "registry/progress")) == 3


def test_connection_reset_is_retried(sandbox: SandboxConsole, client_for: MakeClient) -> None:
    client = client_for(prisma_api_version="v34.04")
    client.progress()  # a pooled keep-alive connection exists now
    sandbox.inject_fault("reset", path_contains="/registry/progress")
    assert client.progress() == []
    assert len(paths(sandbox, "registry/progress")) == 3


def test_429_is_rate_limited_with_retry_after(
    sandbox: SandboxConsole, client_for: MakeClient
) -> None:
    client = client_for(prisma_api_version="v34.04")
    sandbox.inject_fault("429", path_contains="/registry/progress", retry_after=3)
    with pytest.raises(RateLimited) as caught:
        client.progress(ALPINE)
    assert caught.value.retry_after == 3.0
    assert len(paths(sandbox, "registry/progress")) == 1
    # Inside the Retry-After, that endpoint is not asked again ...
    with pytest.raises(RateLimited) as again:
        client.progress(ALPINE)
    assert again.value.retry_after is not None
    assert 0 < again.value.retry_after <= 3.0
    assert len(paths(sandbox, "registry/progress")) == 1
    # ... but the console limits endpoints separately: the others are still asked.
    client.scan_result(ALPINE)
    assert len(paths(sandbox, "registry")) == 1


def test_malformed_body_is_unexpected_response(
    sandbox: SandboxConsole, client_for: MakeClient
) -> None:
    client = client_for(prisma_api_version="v34.04")
    sandbox.inject_fault("malformed", path_contains="/registry/progress")
    with pytest.raises(UnexpectedResponse):
        client.progress()


def test_image_parameters_are_never_sent_without_on_demand(
    sandbox: SandboxConsole, client_for: MakeClient
) -> None:
    client = client_for(prisma_project="Central Console")
    digest = "sha256:" + "ab" * 32
    client.progress()
    client.progress(ALPINE)
    client.progress(ScanTarget(repo="library/alpine", digest=digest))
    client.progress(ScanTarget(repo="team/app", tag="1", registry="reg.example.com"))
    requests = [r for r in sandbox.requests if r.path.endswith("/registry/progress")]
    assert len(requests) == 4
    for request in requests:
        assert request.query["project"] == ["Central Console"]
        if any(name in request.query for name in IMAGE_PARAMS):
            assert request.query["onDemand"] == ["true"]
            assert request.query["repo"]
        else:
            assert "onDemand" not in request.query


def test_client_keeps_under_the_registry_rate_limit(
    sandbox: SandboxConsole, client_for: MakeClient
) -> None:
    """The 31st GET /registry within 30 s is held back by scanbot, never refused by the console."""
    client = client_for(prisma_api_version="v34.04")
    for _ in range(30):
        assert client.scan_result(ALPINE) is None
    with pytest.raises(RateLimited) as caught:
        client.scan_result(ALPINE)
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 20
    assert len(paths(sandbox, "registry")) == 30  # the 31st was never sent
