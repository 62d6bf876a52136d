"""The sandbox console over real HTTP: authentication, faults, versions, recording, lifecycle."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from tests.sandbox.console_support import (
    ALPINE,
    BASIC,
    PASSWORD,
    USER,
    V,
    bearer,
    jwt_claims,
    login,
    make_client,
    progress,
    tls_context,
)
from tests.support.clocks import ManualClock
from tests.support.faults import expire_tokens

# --- ping, version, authentication -------------------------------------------------------


def test_ping_needs_no_auth_and_version_needs_auth(anon: httpx.Client) -> None:
    assert anon.get("/api/v1/_ping").status_code == 200
    refused = anon.get("/api/v1/version")
    assert refused.status_code == 401
    assert "err" in refused.json()
    assert anon.get("/api/v1/version", auth=BASIC).json() == "34.04.145"


def test_authenticate_returns_a_jwt_expiring_after_the_ttl(anon: httpx.Client) -> None:
    token = login(anon)
    parts = token.split(".")
    assert len(parts) == 3
    header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    assert header["typ"] == "JWT"
    claims = jwt_claims(token)
    assert claims["exp"] - claims["iat"] == 600
    assert abs(claims["exp"] - (time.time() + 600)) < 5  # epoch seconds, not clock seconds
    assert anon.get(f"{V}/version", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"username": USER, "password": "wrong"},
        {"username": "someone", "password": PASSWORD},
        {"username": USER},
        {},
    ],
)
def test_bad_credentials_get_401_invalid_credentials(anon: httpx.Client, body: object) -> None:
    answer = anon.post(f"{V}/authenticate", json=body)
    assert answer.status_code == 401
    assert answer.json() == {"err": "invalid credentials"}


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-token",
        "Bearer a.b.c",
        "Basic " + base64.b64encode(b"sandbox:wrong").decode(),
        "Basic !!!",
        "Token abc",
    ],
)
def test_invalid_authorization_is_refused(anon: httpx.Client, authorization: str) -> None:
    answer = anon.get(f"{V}/registry/progress", headers={"Authorization": authorization})
    assert answer.status_code == 401
    assert answer.json()["err"]


def test_a_token_expires_with_the_clock_and_re_authentication_works(
    clock: ManualClock,
) -> None:
    config = SandboxConsoleConfig(token_ttl_seconds=60)
    with (
        SandboxConsole(config, clock=clock) as console,
        make_client(console.url) as client,
    ):
        token = login(client)
        clock.advance(59)
        assert client.get(f"{V}/version", headers=bearer(token)).status_code == 200
        clock.advance(1)
        assert client.get(f"{V}/version", headers=bearer(token)).status_code == 401
        fresh = login(client)
        assert jwt_claims(fresh)["exp"] == jwt_claims(token)["exp"] + 60
        assert client.get(f"{V}/version", headers=bearer(fresh)).status_code == 200


def test_expire_tokens_invalidates_issued_tokens_but_not_basic_auth(
    console: SandboxConsole, anon: httpx.Client
) -> None:
    token = login(anon)
    expire_tokens(console)
    assert anon.get(f"{V}/version", headers=bearer(token)).status_code == 401
    assert anon.get(f"{V}/version", auth=BASIC).status_code == 200
    assert anon.get(f"{V}/version", headers=bearer(login(anon))).status_code == 200


def test_a_token_signed_by_another_console_is_refused(console: SandboxConsole) -> None:
    with (
        SandboxConsole() as other,
        make_client(other.url) as other_client,
        make_client(console.url) as client,
    ):
        foreign = login(other_client)
        assert client.get(f"{V}/version", headers=bearer(foreign)).status_code == 401


# --- faults -------------------------------------------------------------------------------


def test_fault_5xx_answers_503_once_then_normally(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.inject_fault("5xx")
    failed = http.get(f"{V}/registry/progress")
    assert failed.status_code == 503
    assert failed.json()["err"]
    assert http.get(f"{V}/registry/progress").status_code == 200


def test_fault_401_refuses_a_valid_token(console: SandboxConsole, anon: httpx.Client) -> None:
    token = login(anon)
    console.inject_fault("401", count=2)
    assert anon.get(f"{V}/version", headers=bearer(token)).status_code == 401
    assert anon.get(f"{V}/version", headers=bearer(token)).status_code == 401
    assert anon.get(f"{V}/version", headers=bearer(token)).status_code == 200


def test_fault_429_sends_retry_after(console: SandboxConsole, http: httpx.Client) -> None:
    console.inject_fault("429", retry_after=2.5)
    limited = http.get(f"{V}/registry/progress")
    assert limited.status_code == 429
    assert float(limited.headers["Retry-After"]) == 2.5


def test_fault_reset_drops_the_connection_without_an_answer(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.inject_fault("reset")
    with pytest.raises(httpx.TransportError):
        http.get(f"{V}/registry/progress")
    assert http.get(f"{V}/registry/progress").status_code == 200


def test_fault_malformed_answers_200_with_a_body_that_is_not_json(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.inject_fault("malformed")
    answer = http.get(f"{V}/registry/progress")
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        answer.json()


def test_fault_delay_answers_late_and_can_time_a_client_out(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.inject_fault("delay", delay_seconds=0.3)
    started = time.monotonic()
    assert http.get(f"{V}/registry/progress").status_code == 200
    assert time.monotonic() - started >= 0.3
    console.inject_fault("delay", delay_seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        http.get(f"{V}/registry/progress", timeout=0.2)


def test_faults_match_paths_and_are_consumed_in_order(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.inject_fault("5xx", path_contains="/registry/progress")
    console.inject_fault("429")
    assert http.get(f"{V}/version").status_code == 429  # the first fault does not match
    assert http.get(f"{V}/version").status_code == 200
    assert http.get(f"{V}/registry/progress").status_code == 503
    assert http.get(f"{V}/registry/progress").status_code == 200


def test_unknown_fault_kinds_and_counts_are_rejected(console: SandboxConsole) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        console.inject_fault("teapot")
    with pytest.raises(ValueError, match="count"):
        console.inject_fault("5xx", count=0)


# --- versions and routing -----------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/api/v1", "/api/v34.04"])
def test_default_versions_are_served(http: httpx.Client, prefix: str) -> None:
    assert http.get(f"{prefix}/_ping").status_code == 200
    assert http.get(f"{prefix}/registry/progress").json() == []


@pytest.mark.parametrize(
    "path", ["/api/v99/_ping", "/api/v34.03/registry/progress", "/api/latest/_ping", "/other"]
)
def test_unserved_versions_and_other_paths_get_404_json(http: httpx.Client, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 404
    assert answer.json()["err"]


def test_served_versions_are_configurable(clock: ManualClock) -> None:
    for versions, served, refused in [
        (frozenset({"v32.07"}), "/api/v32.07/_ping", "/api/v1/_ping"),
        (frozenset({"*"}), "/api/v99.01/_ping", "/api/latest/_ping"),
    ]:
        config = SandboxConsoleConfig(served_api_versions=versions)
        with (
            SandboxConsole(config, clock=clock) as console,
            make_client(console.url) as client,
        ):
            assert client.get(served).status_code == 200
            assert client.get(refused).status_code == 404


def test_default_versions_follow_the_configured_version() -> None:
    assert SandboxConsoleConfig(version="32.07.123").api_versions() == {"v1", "v32.07"}


def test_unknown_endpoints_get_404_and_wrong_methods_405(http: httpx.Client) -> None:
    assert http.get(f"{V}/registry/nonsense").status_code == 404
    assert http.post(f"{V}/registry/progress").status_code == 405
    assert http.get(f"{V}/registry/scan").status_code == 405
    assert http.get(f"{V}/authenticate").status_code == 405


# --- recording, seeds, lifecycle ------------------------------------------------------------


def test_requests_are_recorded_without_credentials(
    console: SandboxConsole, anon: httpx.Client, clock: ManualClock
) -> None:
    token = login(anon)
    clock.advance(7)
    anon.get(f"{V}/registry/progress", params=ALPINE, headers=bearer(token))
    anon.get("/api/v1/version", auth=BASIC)
    auth, progress_call, version = console.requests
    assert (auth.method, auth.path, auth.authorization_scheme, auth.at) == (
        "POST",
        f"{V}/authenticate",
        None,
        0.0,
    )
    assert auth.body == {"username": USER, "password": "<redacted>"}
    anon.post(f"{V}/authenticate", content=f"password={PASSWORD}")
    assert progress_call.query == {k: [v] for k, v in ALPINE.items()}
    assert (progress_call.authorization_scheme, progress_call.at) == ("Bearer", 7.0)
    assert version.authorization_scheme == "Basic"
    recorded = repr(console.requests)
    assert PASSWORD not in recorded
    assert token not in recorded
    console.clear_requests()
    assert console.requests == []


def test_seeds_start_scans_at_boot(clock: ManualClock) -> None:
    config = SandboxConsoleConfig(
        seed_on_demand=("library/alpine:3.16", "registry.example.com:5000/team/app@sha256:abc"),
        seed_regular_scan=True,
    )
    with (
        SandboxConsole(config, clock=clock) as console,
        make_client(console.url, auth=BASIC) as client,
    ):
        assert len(progress(client, **ALPINE)) == 1
        seeded = {
            "onDemand": "true",
            "repo": "team/app",
            "digest": "sha256:abc",
            "registry": "registry.example.com:5000",
        }
        assert len(progress(client, **seeded)) == 1
        assert len(progress(client)) == 1


def test_stop_closes_connections_and_threads_even_during_a_delay() -> None:
    console = SandboxConsole().start()
    url = console.url
    console.inject_fault("delay", delay_seconds=30)
    client = make_client(url, timeout=30)
    waiting = threading.Thread(target=lambda: _swallow(client, "/api/v1/_ping"))
    waiting.start()
    time.sleep(0.2)
    started = time.monotonic()
    console.stop()
    waiting.join(timeout=5)
    client.close()
    assert time.monotonic() - started < 5
    assert not waiting.is_alive()
    assert not [t for t in threading.enumerate() if t.name.startswith("sandbox-console")]
    with pytest.raises(httpx.ConnectError), make_client(url) as late:
        late.get("/api/v1/_ping")


def _swallow(client: httpx.Client, path: str) -> None:
    with contextlib.suppress(httpx.TransportError):
        client.get(path)


def test_serve_forever_prints_the_url_and_stops_on_sigterm() -> None:
    code = (
        "from bot.sandbox.console import SandboxConsoleConfig, serve_forever\n"
        "serve_forever(SandboxConsoleConfig(), '127.0.0.1', 0)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        credentials = process.stdout.readline()
        url = first.split(": ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert PASSWORD in credentials
        assert (
            httpx.get(f"{url}/api/v1/version", auth=BASIC, verify=tls_context()).json()
            == "34.04.145"
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
