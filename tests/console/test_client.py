"""Unit tests of ConsoleClient over httpx.MockTransport: requests, auth, errors, retries."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from bot import __version__
from bot.console import transport
from bot.console.client import ConsoleClient
from bot.console.errors import (
    AuthenticationFailed,
    ConsoleError,
    PermissionDenied,
    RateLimited,
    UnexpectedResponse,
)
from bot.domain.images import ScanTarget
from tests.console.conftest import (
    API,
    PASSWORD,
    USER,
    FakeClock,
    FakeConsole,
    console_settings,
)

MakeClient = Callable[..., ConsoleClient]
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
DIGEST = "sha256:" + "ab" * 32


def query(request: httpx.Request) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, value in request.url.params.multi_items():
        result.setdefault(key, []).append(value)
    return result


# --- request building --------------------------------------------------------------------


def test_regular_progress_sends_no_on_demand_params(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.progress_body = [{"isScanOngoing": True, "discovery": {"total": 4, "scanned": 2}}]
    entries = make_client().progress()
    (request,) = fake.calls("registry/progress")
    assert request.method == "GET"
    assert request.url.path == f"{API}/registry/progress"
    assert query(request) == {}
    assert entries[0].is_scan_ongoing
    assert entries[0].discovery.scanned == 2


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (ALPINE, {"onDemand": ["true"], "repo": ["library/alpine"], "tag": ["3.16"]}),
        (
            ScanTarget(repo="library/alpine", digest=DIGEST),
            {"onDemand": ["true"], "repo": ["library/alpine"], "digest": [DIGEST]},
        ),
        (
            ScanTarget(repo="team/app", tag="1.2", registry="registry.example.com:5000"),
            {
                "onDemand": ["true"],
                "repo": ["team/app"],
                "tag": ["1.2"],
                "registry": ["registry.example.com:5000"],
            },
        ),
    ],
    ids=["tag", "digest", "registry"],
)
def test_on_demand_progress_always_carries_on_demand_true(
    fake: FakeConsole,
    make_client: MakeClient,
    target: ScanTarget,
    expected: dict[str, list[str]],
) -> None:
    make_client().progress(target)
    (request,) = fake.calls("registry/progress")
    assert query(request) == expected


def test_each_image_keeps_its_own_query_when_asked_again(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    """Request URLs are parsed once and reused: a later request about another image, or
    the same image again, still carries exactly its own query."""
    client = make_client(console_settings(prisma_project="Central Console"))
    images = [ScanTarget(repo=f"team/app{i}", tag="1.0") for i in range(3)]
    for target in [*images, *reversed(images), images[0]]:
        client.progress(target)
    repos = [query(r)["repo"] for r in fake.calls("registry/progress")]
    assert repos == [[f"team/app{i}"] for i in (0, 1, 2, 2, 1, 0, 0)]
    for request in fake.calls("registry/progress"):
        assert query(request)["onDemand"] == ["true"]
        assert query(request)["project"] == ["Central Console"]


def test_parsed_request_urls_stay_bounded(
    fake: FakeConsole, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Following ever more images never grows the client's URL cache past its bound."""
    monkeypatch.setattr(transport, "_URL_CACHE_SIZE", 4)
    client = make_client()
    for i in range(25):
        client.progress(ScanTarget(repo=f"team/app{i}", tag="1.0"))
        assert len(client._http._urls) <= 4
    assert len(fake.calls("registry/progress")) == 25


def test_project_is_sent_on_every_request(fake: FakeConsole, make_client: MakeClient) -> None:
    client = make_client(console_settings(prisma_project="Central Console"))
    client.progress(ALPINE)
    client.trigger_scan(ALPINE)
    client.scan_result(ALPINE)
    assert {r.url.path.rsplit("/", 1)[-1] for r in fake.requests} >= {"authenticate", "scan"}
    for request in fake.requests:
        assert query(request)["project"] == ["Central Console"], request.url.path


def test_saas_tenant_path_prefix_is_kept(fake: FakeConsole, make_client: MakeClient) -> None:
    url = "https://eu.cloud.twistlock.com/tenant-123/"
    make_client(console_settings(prisma_console_url=url)).progress()
    assert [r.url.path for r in fake.requests] == [
        f"/tenant-123{API}/authenticate",
        f"/tenant-123{API}/registry/progress",
    ]
    assert {r.url.host for r in fake.requests} == {"eu.cloud.twistlock.com"}


def test_trigger_scan_posts_on_demand_image_tag(fake: FakeConsole, make_client: MakeClient) -> None:
    make_client().trigger_scan(ScanTarget(repo="team/app", tag="1.2", registry="reg.io"))
    (request,) = fake.calls("registry/scan")
    assert request.method == "POST"
    assert json.loads(request.content) == {
        "onDemandScan": True,
        "tag": {"repo": "team/app", "tag": "1.2", "registry": "reg.io"},
    }


def test_requests_carry_user_agent(fake: FakeConsole, make_client: MakeClient) -> None:
    make_client().progress()
    assert {r.headers["User-Agent"] for r in fake.requests} == {f"scanbot/{__version__}"}


# --- scan results --------------------------------------------------------------------------


def _result(
    repo: str, tag: str, scan_time: str, critical: int, registry: str = ""
) -> dict[str, object]:
    return {
        "_id": f"sha256:{tag}",
        "repoTag": {"registry": registry, "repo": repo, "tag": tag},
        "scanTime": scan_time,
        "vulnerabilityDistribution": {"critical": critical, "total": critical},
        "vulnerabilitiesCount": critical,
    }


def test_scan_result_filters_by_repository_and_picks_newest_matching_tag(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.registry_body = [
        _result("library/alpine", "3.17", "2024-05-03T00:00:00Z", 9),
        _result("library/alpine", "3.16", "2024-05-01T00:00:00Z", 1),
        _result("library/alpine", "3.16", "2024-05-02T00:00:00Z", 2),
        _result("library/alpine", "3.16", "2024-05-04T00:00:00Z", 7, registry="mirror.io"),
    ]
    result = make_client().scan_result(ALPINE)
    assert result is not None
    assert result.image == "library/alpine:3.16"
    assert result.vulnerabilities.critical == 2
    assert result.scan_time == datetime(2024, 5, 2, tzinfo=UTC)
    (request,) = fake.calls("registry")
    params = query(request)
    assert params["repository"] == ["library/alpine"]
    assert params["compact"] == ["true"]
    assert params["sort"] == ["scanTime"]
    assert params["reverse"] == ["true"]
    assert int(params["limit"][0]) >= 1
    assert "registry" not in params


def test_scan_result_for_other_registry_and_digest(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.registry_body = [
        {
            **_result("team/app", "1.2", "2024-05-01T00:00:00Z", 3, registry="reg.io"),
            "repoDigests": [f"reg.io/team/app@{DIGEST}"],
        },
    ]
    client = make_client()
    by_digest = client.scan_result(ScanTarget(repo="team/app", digest=DIGEST, registry="reg.io"))
    assert by_digest is not None
    assert by_digest.image == "reg.io/team/app:1.2"
    assert query(fake.calls("registry")[0])["registry"] == ["reg.io"]
    other_digest = ScanTarget(repo="team/app", digest="sha256:" + "cd" * 32, registry="reg.io")
    assert client.scan_result(other_digest) is None


def test_scan_result_is_none_when_console_has_nothing(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.registry_body = None
    assert make_client().scan_result(ALPINE) is None


def test_scan_result_of_wrong_shape_is_unexpected(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.registry_body = {"err": "not a list"}
    with pytest.raises(UnexpectedResponse):
        make_client().scan_result(ALPINE)


def test_scan_result_goes_through_the_registry_rate_limiter(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    from bot.console.ratelimit import SlidingWindowLimiter

    client = make_client()
    now = [0.0]
    client._registry_limiter = SlidingWindowLimiter(2, 30.0, max_wait=1.0, clock=lambda: now[0])
    client.scan_result(ALPINE)
    client.scan_result(ALPINE)
    with pytest.raises(RateLimited) as caught:
        client.scan_result(ALPINE)
    assert caught.value.retry_after == pytest.approx(30.0)
    assert len(fake.calls("registry")) == 2


# --- authentication -------------------------------------------------------------------------


def test_token_auth_authenticates_once_and_sends_bearer(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    client = make_client()
    client.progress()
    client.progress(ALPINE)
    (auth,) = fake.calls("authenticate")
    assert json.loads(auth.content) == {"username": USER, "password": PASSWORD}
    assert "Authorization" not in auth.headers
    for request in fake.calls("registry/progress"):
        assert request.headers["Authorization"] == f"Bearer {fake.issued[0]}"


def test_token_is_renewed_proactively_when_expiry_is_near(
    fake: FakeConsole, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client()
    client.progress()
    clock.now += 530  # 70 s left of 600: still fine
    client.progress()
    assert len(fake.calls("authenticate")) == 1
    clock.now += 15  # 55 s left: renew before calling
    client.progress()
    assert len(fake.calls("authenticate")) == 2
    assert fake.calls("registry/progress")[-1].headers["Authorization"] == (
        f"Bearer {fake.issued[1]}"
    )
    assert len(fake.calls("registry/progress")) == 3  # no 401 round trip was needed


def test_short_lived_token_renews_at_ten_percent(
    fake: FakeConsole, make_client: MakeClient, clock: FakeClock
) -> None:
    fake.token_lifetime = 100
    client = make_client()
    client.progress()
    clock.now += 89  # 11 s left > 10 % of 100 s
    client.progress()
    assert len(fake.calls("authenticate")) == 1
    clock.now += 2  # 9 s left
    client.progress()
    assert len(fake.calls("authenticate")) == 2


def test_token_without_exp_is_assumed_to_live_ten_minutes(
    fake: FakeConsole, make_client: MakeClient, clock: FakeClock
) -> None:
    fake.script("authenticate", httpx.Response(200, json={"token": "opaque-token"}))
    fake.valid_tokens.add("opaque-token")
    client = make_client()
    client.progress()
    clock.now += 530
    client.progress()
    assert len(fake.calls("authenticate")) == 1
    clock.now += 20  # 50 s of the assumed 600 left
    client.progress()
    assert len(fake.calls("authenticate")) == 2


def test_401_reauthenticates_once_and_retries(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script("registry/progress", httpx.Response(401, text="token revoked"))
    assert make_client().progress() == []
    assert len(fake.calls("authenticate")) == 2
    assert len(fake.calls("registry/progress")) == 2
    assert fake.calls("registry/progress")[1].headers["Authorization"] == (
        f"Bearer {fake.issued[1]}"
    )


def test_second_401_is_authentication_failed(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script("registry/progress", httpx.Response(401), httpx.Response(401))
    with pytest.raises(AuthenticationFailed) as caught:
        make_client().progress()
    assert not isinstance(caught.value, PermissionDenied)
    assert len(fake.calls("authenticate")) == 2
    assert len(fake.calls("registry/progress")) == 2


def test_rejected_credentials_name_the_variables(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    client = make_client(console_settings(prisma_password="wrong-password"))
    with pytest.raises(AuthenticationFailed, match="PRISMA_USER/PRISMA_PASSWORD"):
        client.progress()
    assert len(fake.calls("authenticate")) == 1  # 401 is not retried
    assert fake.calls("registry/progress") == []


def test_403_is_permission_denied(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script("registry/progress", httpx.Response(403, json={"err": "forbidden"}))
    with pytest.raises(PermissionDenied):
        make_client().progress()
    assert len(fake.calls("authenticate")) == 1


def test_basic_auth_sends_credentials_on_each_call(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    client = make_client(console_settings(prisma_auth="basic"))
    client.progress()
    client.trigger_scan(ALPINE)
    assert fake.calls("authenticate") == []
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert [r.headers["Authorization"] for r in fake.requests] == [expected, expected]


def test_basic_auth_401_fails_without_retry(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script("registry/progress", httpx.Response(401))
    with pytest.raises(AuthenticationFailed, match="PRISMA_USER/PRISMA_PASSWORD"):
        make_client(console_settings(prisma_auth="basic")).progress()
    assert len(fake.requests) == 1


def test_concurrent_401s_reauthenticate_once(fake: FakeConsole, make_client: MakeClient) -> None:
    client = make_client()
    client.progress()
    fake.valid_tokens.clear()  # the console forgets the token
    errors: list[ConsoleError] = []

    def call() -> None:
        try:
            client.progress()
        except ConsoleError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(fake.calls("authenticate")) == 2  # the first, and one renewal for all
