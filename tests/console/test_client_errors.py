"""ConsoleClient failure handling: status mapping, retries, and secrets kept out of sight."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import stamina

from bot.config.settings import SettingsError
from bot.console.client import ConsoleClient
from bot.console.errors import (
    ApiVersionNotFound,
    ConsoleError,
    ConsoleUnavailable,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from bot.domain.images import ScanTarget
from tests.console.conftest import PASSWORD, FakeClock, FakeConsole, console_settings

MakeClient = Callable[..., ConsoleClient]
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")


def test_400_carries_the_consoles_err_text(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script("registry/progress", httpx.Response(400, json={"err": "repo is required"}))
    with pytest.raises(RequestRejected) as caught:
        make_client().progress(ALPINE)
    assert caught.value.console_text == "repo is required"
    assert "repo is required" in str(caught.value)
    assert len(fake.calls("registry/progress")) == 1  # 4xx is not retried


def test_400_plain_text_detail_is_truncated(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script("registry/scan", httpx.Response(400, text="bad image " + "x" * 1000))
    with pytest.raises(RequestRejected) as caught:
        make_client().trigger_scan(ALPINE)
    assert caught.value.console_text.startswith("bad image xxx")
    assert len(caught.value.console_text) == 300


def test_404_is_api_version_not_found(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script("registry/progress", httpx.Response(404, text="404 page not found"))
    with pytest.raises(ApiVersionNotFound, match=r"/api/v34\.04/registry/progress"):
        make_client().progress()


def test_429_with_retry_after_seconds(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script("registry", httpx.Response(429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimited) as caught:
        make_client().scan_result(ALPINE)
    assert caught.value.retry_after == 7.0
    assert len(fake.calls("registry")) == 1


def test_429_with_retry_after_http_date(
    fake: FakeConsole, make_client: MakeClient, clock: FakeClock
) -> None:
    when = datetime.fromtimestamp(clock.now, UTC) + timedelta(seconds=42)
    fake.script(
        "registry/progress",
        httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)}),
    )
    with pytest.raises(RateLimited) as caught:
        make_client().progress()
    assert caught.value.retry_after == pytest.approx(42.0)


class SteppedMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_429_blocks_that_endpoint_until_retry_after_passed_and_no_other(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    monotonic = SteppedMonotonic()
    client = make_client(monotonic=monotonic)
    fake.script("registry/progress", httpx.Response(429, headers={"Retry-After": "30"}))
    with pytest.raises(RateLimited):
        client.progress()
    sent = len(fake.requests)
    monotonic.now += 29
    for target in (None, ALPINE):
        with pytest.raises(RateLimited) as caught:
            client.progress(target)
        assert caught.value.retry_after == pytest.approx(1.0)
    assert len(fake.requests) == sent  # refused without sending anything
    fake.script("statuses/registry", httpx.Response(200, json={}))
    client.registry_status()  # the console limits its endpoints separately
    sent = len(fake.requests)
    monotonic.now += 1.5
    assert client.progress() == []
    assert len(fake.requests) == sent + 1


def test_an_absurd_retry_after_blocks_for_at_most_fifteen_minutes(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    monotonic = SteppedMonotonic()
    client = make_client(monotonic=monotonic)
    fake.script("registry/progress", httpx.Response(429, headers={"Retry-After": "99999999"}))
    with pytest.raises(RateLimited):
        client.progress()
    monotonic.now += 901
    assert client.progress() == []


def test_429_without_retry_after_does_not_block(fake: FakeConsole, make_client: MakeClient) -> None:
    client = make_client()
    fake.script("registry/progress", httpx.Response(429))
    with pytest.raises(RateLimited) as caught:
        client.progress()
    assert caught.value.retry_after is None
    assert client.progress() == []


def test_503_twice_then_success_is_transparent(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.progress_body = [{"isScanOngoing": True}]
    fake.script("registry/progress", httpx.Response(503), httpx.Response(502))
    entries = make_client().progress()
    assert [e.is_scan_ongoing for e in entries] == [True]
    assert len(fake.calls("registry/progress")) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_persistent_5xx_is_unavailable_after_all_attempts(
    fake: FakeConsole, make_client: MakeClient, status: int
) -> None:
    stamina.set_testing(True, attempts=4)
    fake.script("registry/progress", *[httpx.Response(status)] * 5)
    with pytest.raises(ConsoleUnavailable, match=f"HTTP {status}") as caught:
        make_client().progress()
    assert len(fake.calls("registry/progress")) == 4
    assert "4 attempts" in str(caught.value)
    assert "console.example.test" not in str(caught.value)


def test_connect_errors_name_the_host_only_in_the_log_detail(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.script("registry/progress", *[httpx.ConnectError("connection refused")] * 3)
    with pytest.raises(ConsoleUnavailable) as caught:
        make_client().progress()
    assert "console.example.test" not in str(caught.value)
    assert "could not connect" in str(caught.value)
    assert "3 attempts" in str(caught.value)
    assert "console.example.test:8083" in caught.value.detail
    assert "connection refused" in caught.value.detail
    assert len(fake.calls("registry/progress")) == 3


def test_tls_failures_are_named_plainly_with_internals_only_in_the_detail(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    internals = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)"
    fake.script("registry/progress", *[httpx.ConnectError(internals)] * 3)
    with pytest.raises(ConsoleUnavailable) as caught:
        make_client().progress()
    assert "TLS" in str(caught.value)
    assert "PRISMA_CA_BUNDLE" in str(caught.value)
    assert "_ssl.c" not in str(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" not in str(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.detail


def test_timeout_then_success_is_retried(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script("registry/progress", httpx.ReadTimeout("timed out"))
    assert make_client().progress() == []
    assert len(fake.calls("registry/progress")) == 2


@pytest.mark.parametrize("status", [400, 403, 404, 409, 429])
def test_4xx_is_never_retried(fake: FakeConsole, make_client: MakeClient, status: int) -> None:
    fake.script("registry/progress", httpx.Response(status))
    with pytest.raises(ConsoleError):
        make_client().progress()
    assert len(fake.calls("registry/progress")) == 1


def test_redirect_is_not_followed(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.script(
        "registry/progress", httpx.Response(302, headers={"Location": "https://login.example/"})
    )
    with pytest.raises(UnexpectedResponse, match="PRISMA_CONSOLE_URL"):
        make_client().progress()
    assert len(fake.requests) == 2  # authenticate + the redirected call, nothing followed


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>login</html>"),
        httpx.Response(200, content=b"\xff\xfe\x00garbage"),
        httpx.Response(200, json={"err": "an object, not a list"}),
        httpx.Response(200, json="a string"),
    ],
    ids=["html", "bytes", "object", "string"],
)
def test_malformed_success_is_unexpected_response(
    fake: FakeConsole, make_client: MakeClient, response: httpx.Response
) -> None:
    fake.script("registry/progress", response)
    with pytest.raises(UnexpectedResponse):
        make_client().progress()


def test_authenticate_without_token_is_unexpected(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.script("authenticate", httpx.Response(200, json={"tok": "x"}))
    with pytest.raises(UnexpectedResponse, match="no token"):
        make_client().progress()


def test_secrets_never_reach_errors_or_logs(
    fake: FakeConsole, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    client.progress()
    token = fake.issued[0]
    failures: list[httpx.Response | Exception] = [
        httpx.Response(400, json={"err": f"bad password {PASSWORD} for token {token}"}),
        httpx.Response(400, text=f"Authorization: Bearer {token}"),
        httpx.Response(403, text=PASSWORD),
        httpx.Response(429),
        httpx.Response(200, text=f"not json {PASSWORD}"),
        httpx.ConnectError(f"refused {PASSWORD}"),
        httpx.ConnectError("refused"),
        httpx.ConnectError("refused"),
        httpx.Response(401),
        httpx.Response(401),
    ]
    fake.script("registry/progress", *failures)
    messages: list[str] = []
    for _ in range(7):
        with pytest.raises(ConsoleError) as caught:
            client.progress()
        messages.append(str(caught.value))
        messages.append(repr(caught.value))
        messages.append(getattr(caught.value, "detail", ""))
    bad_client = make_client(console_settings(prisma_password=PASSWORD + "-wrong"))
    with pytest.raises(ConsoleError) as caught:
        bad_client.progress()
    messages.append(str(caught.value))
    text = "\n".join(messages) + caplog.text
    assert "DEBUG" in caplog.text or caplog.records  # logging did happen
    assert PASSWORD not in text
    for issued in fake.issued:
        assert issued not in text
    assert "Bearer ey" not in text
    assert "Basic " not in text


def test_debug_log_lines_name_method_path_and_status(
    fake: FakeConsole, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.console.transport")
    make_client().progress(ALPINE)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.console.transport"]
    assert any(line.startswith("GET /api/v34.04/registry/progress -> 200 in ") for line in lines)
    assert any(line.startswith("POST /api/v34.04/authenticate -> 200 in ") for line in lines)
    assert not any("onDemand" in line for line in lines)  # no query strings


def test_missing_credentials_fail_at_construction() -> None:
    with pytest.raises(SettingsError, match="PRISMA_PASSWORD"):
        ConsoleClient(console_settings(prisma_password=None))


def test_unreadable_ca_bundle_fails_naming_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(SettingsError, match="PRISMA_CA_BUNDLE"):
        ConsoleClient(console_settings(prisma_ca_bundle=str(missing)))
