"""Bearer-token authentication for the console: JWT expiry, thread-safe renewal, httpx.Auth.

The console's ``POST /authenticate`` returns a JWT.  We never verify its signature (the
console does); we only read ``exp`` (and ``iat``) from the payload to renew the token
before it runs out.  :class:`BearerTokenAuth` is the ``httpx.Auth`` the client's
``httpx.Client`` uses: it puts the current token on every request and, when the console
answers 401, renews the token once and sends the request again.  The function that
fetches a token is passed in by the client (it performs ``POST /authenticate``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import httpx

from bot.console.models import finite_number

logger = logging.getLogger(__name__)

#: Lifetime assumed when the token carries no usable ``exp``.
DEFAULT_TOKEN_LIFETIME = 600.0
#: Renew when fewer than this many seconds remain (or 10 % of the lifetime, if smaller).
RENEW_MARGIN = 60.0


def jwt_claims(token: str) -> dict[str, object]:
    """The JSON payload of a JWT, unverified; ``{}`` when it is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError too
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and when, on our clock, it was obtained and runs out."""

    value: str = field(repr=False)  # a secret: never in reprs
    obtained_at: float
    expires_at: float

    @classmethod
    def issued(cls, value: str, now: float) -> Token:
        """Read the lifetime from the JWT, robust against clock skew with the console.

        With ``iat`` and ``exp`` the lifetime is ``exp - iat`` counted from ``now``; with
        ``exp`` alone it is ``exp`` itself (when still in the future); otherwise
        :data:`DEFAULT_TOKEN_LIFETIME`.
        """
        claims = jwt_claims(value)
        exp = finite_number(claims.get("exp"))
        iat = finite_number(claims.get("iat"))
        if exp is not None and iat is not None and exp > iat:
            return cls(value, now, now + (exp - iat))
        if exp is not None and exp > now:
            return cls(value, now, exp)
        return cls(value, now, now + DEFAULT_TOKEN_LIFETIME)

    def needs_renewal(self, now: float) -> bool:
        """True when fewer than min(60 s, 10 % of the lifetime) remain."""
        lifetime = self.expires_at - self.obtained_at
        margin = min(RENEW_MARGIN, 0.1 * lifetime)
        return self.expires_at - now < margin


class TokenManager:
    """Holds the current token; renews it proactively and after a 401, one thread at a time.

    ``fetch`` performs ``POST /authenticate`` and returns the new token (raising the
    client's errors).  It is called with the lock held, so concurrent callers wait for one
    renewal instead of all authenticating at once.
    """

    def __init__(self, fetch: Callable[[], str], clock: Callable[[], float]) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None

    def current(self) -> str:
        """A token that is not about to expire (fetching one if needed)."""
        with self._lock:
            token = self._token
            if token is None or token.needs_renewal(self._clock()):
                token = self._renew()
            return token.value

    def renew_after_rejection(self, rejected: str) -> str:
        """A token other than ``rejected``: renews unless another thread already did."""
        with self._lock:
            token = self._token
            if token is None or token.value == rejected or token.needs_renewal(self._clock()):
                token = self._renew()
            return token.value

    def _renew(self) -> Token:
        value = self._fetch()
        self._token = Token.issued(value, self._clock())
        return self._token


class BearerTokenAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request; one renewal and resend on 401.

    Thread-safe: the token lives in a :class:`TokenManager`, renewed under its lock.  A
    second 401 (after the renewal) is returned to the caller, which reports it.
    """

    def __init__(self, tokens: TokenManager) -> None:
        self._tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._tokens.current()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        logger.info("the console refused the token for %s; authenticating again", request.url.path)
        token = self._tokens.renew_after_rejection(token)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request
