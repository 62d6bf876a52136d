"""JWT expiry reading, the thread-safe token manager, and the httpx bearer auth flow."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from bot.console.auth import (
    DEFAULT_TOKEN_LIFETIME,
    BearerTokenAuth,
    Token,
    TokenManager,
    jwt_claims,
)
from tests.console.conftest import FakeClock, make_jwt

NOW = 1_700_000_000.0


def test_jwt_claims_are_read_without_verification() -> None:
    assert jwt_claims(make_jwt(exp=123, sub="u")) == {"exp": 123, "sub": "u"}


@pytest.mark.parametrize(
    "token", ["", "opaque", "a.b", "a.!!!.c", "a.bm90IGpzb24.c", "a.WzEsMl0.c", "a.b.c.d"]
)
def test_unreadable_tokens_have_no_claims(token: str) -> None:
    assert jwt_claims(token) == {}


def test_lifetime_from_iat_and_exp_is_immune_to_clock_skew() -> None:
    # The console's clock is an hour behind ours: exp is already "past" on our clock.
    token = Token.issued(make_jwt(iat=NOW - 3600, exp=NOW - 3000), now=NOW)
    assert token.expires_at == NOW + 600


def test_exp_alone_is_used_when_in_the_future() -> None:
    assert Token.issued(make_jwt(exp=NOW + 300), now=NOW).expires_at == NOW + 300


@pytest.mark.parametrize(
    "claims",
    [{}, {"exp": "soon"}, {"exp": True}, {"exp": NOW - 10}, {"exp": 1e309}, {"iat": NOW}],
)
def test_unusable_exp_assumes_ten_minutes(claims: dict[str, object]) -> None:
    token = Token.issued(make_jwt(**claims), now=NOW)
    assert token.expires_at == NOW + DEFAULT_TOKEN_LIFETIME


@pytest.mark.parametrize(
    ("lifetime", "elapsed", "renew"),
    [
        (600, 539, False),  # 61 s left, margin 60 s
        (600, 541, True),
        (3600, 3539, False),
        (3600, 3541, True),
        (100, 89, False),  # margin is 10 % = 10 s
        (100, 91, True),
        (100, 200, True),  # already expired
    ],
)
def test_renewal_margin_is_the_smaller_of_60s_and_10_percent(
    lifetime: float, elapsed: float, renew: bool
) -> None:
    token = Token("t", obtained_at=NOW, expires_at=NOW + lifetime)
    assert token.needs_renewal(NOW + elapsed) is renew


def test_manager_fetches_once_then_reuses_then_renews() -> None:
    clock = FakeClock(NOW)
    fetched: list[str] = []

    def fetch() -> str:
        fetched.append(make_jwt(iat=clock.now, exp=clock.now + 600, n=len(fetched)))
        return fetched[-1]

    manager = TokenManager(fetch, clock)
    assert manager.current() == fetched[0]
    clock.now += 500
    assert manager.current() == fetched[0]
    clock.now += 50
    assert manager.current() == fetched[1]
    assert len(fetched) == 2


def test_rejected_token_is_renewed_only_once_by_concurrent_threads() -> None:
    clock = FakeClock(NOW)
    fetched: list[str] = []

    def slow_fetch() -> str:
        time.sleep(0.02)  # widen the race window
        fetched.append(make_jwt(iat=clock.now, exp=clock.now + 600, n=len(fetched)))
        return fetched[-1]

    manager = TokenManager(slow_fetch, clock)
    rejected = manager.current()
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(manager.renew_after_rejection(rejected)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(fetched) == 2
    assert results == [fetched[1]] * 8


def test_failed_fetch_keeps_no_token() -> None:
    calls = 0

    def failing() -> str:
        nonlocal calls
        calls += 1
        raise RuntimeError("console down")

    manager = TokenManager(failing, FakeClock(NOW))
    for _ in range(2):
        with pytest.raises(RuntimeError):
            manager.current()
    assert calls == 2


def test_a_tokens_repr_never_shows_the_token() -> None:
    token = Token(value="eyJhbGciOiJIUzI1NiJ9.e30.sig", obtained_at=0.0, expires_at=1.0)
    assert "eyJ" not in repr(token)


def test_bearer_auth_renews_once_on_401_and_returns_a_second_401() -> None:
    clock = FakeClock(NOW)
    fetched: list[str] = []

    def fetch() -> str:
        fetched.append(f"token-{len(fetched)}")
        return fetched[-1]

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401 if request.url.path == "/always-401" else 200)

    auth = BearerTokenAuth(TokenManager(fetch, clock))
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        assert client.get("https://console.test/ok").status_code == 200
        assert client.get("https://console.test/always-401").status_code == 401
    assert seen == ["Bearer token-0", "Bearer token-0", "Bearer token-1"]
    assert fetched == ["token-0", "token-1"]
