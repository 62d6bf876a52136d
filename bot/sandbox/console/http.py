"""HTTP plumbing of the simulated console: parsed requests, answers, tokens, rate limit.

Nothing here knows the console's endpoints; :mod:`bot.sandbox.console.server` routes
:class:`Request` objects to them and :mod:`bot.sandbox.http` serves it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.sandbox.http import HttpRequest, HttpResponse

_SECRET_FIELDS = frozenset({"password", "token", "secret"})


@dataclass(frozen=True)
class Request:
    """One parsed request.  ``body`` is the decoded JSON (``None`` when empty)."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    body: object | None
    body_ok: bool  # False when a body was sent but is not JSON (then ``body`` is its text)
    client: str

    @property
    def scheme(self) -> str | None:
        """The Authorization scheme (``Bearer``, ``Basic``) without the credentials."""
        return self.authorization.split(" ", 1)[0] if self.authorization else None

    def param(self, name: str, default: str = "") -> str:
        """The last value of query parameter ``name``."""
        return self.query.get(name, [default])[-1]

    @classmethod
    def parse(cls, raw: HttpRequest) -> Request:
        body: object | None = None
        body_ok = True
        if raw.body.strip():
            try:
                body = json.loads(raw.body)
            except ValueError:
                body, body_ok = raw.body.decode("utf-8", "replace"), False
        authorization = raw.header("Authorization")
        return cls(raw.method, raw.path, raw.query, authorization, body, body_ok, raw.client)


def json_response(status: int, payload: object, *headers: tuple[str, str]) -> HttpResponse:
    return HttpResponse(
        status, json.dumps(payload, separators=(",", ":")).encode(), headers=headers
    )


def error(status: int, message: str, *headers: tuple[str, str]) -> HttpResponse:
    """The console's error shape: ``{"err": "..."}``."""
    return json_response(status, {"err": message}, *headers)


def redact(value: object) -> object:
    """A copy of a JSON value with password / token / secret fields hidden."""
    if isinstance(value, dict):
        return {
            k: "<redacted>" if str(k).lower() in _SECRET_FIELDS else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    """HS256 JWTs with ``exp`` in epoch seconds; remembers which ones it issued."""

    def __init__(self, epoch: Callable[[], float]) -> None:
        self._epoch = epoch
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._issued: dict[str, int] = {}  # jti -> exp

    def issue(self, subject: str, ttl_seconds: float) -> str:
        now = self._epoch()
        exp, jti = int(now + ttl_seconds), secrets.token_hex(8)
        claims = {"sub": subject, "iat": int(now), "exp": exp, "jti": jti, "iss": "scanbot-sandbox"}
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        signing_input = f"{header}.{_b64url(json.dumps(claims).encode())}"
        with self._lock:
            self._issued[jti] = exp
        return f"{signing_input}.{self._sign(signing_input)}"

    def valid(self, token: str) -> bool:
        """Signed here, not expired, and not revoked by :meth:`expire_all`."""
        signing_input, _, signature = token.strip().rpartition(".")
        if not hmac.compare_digest(signature, self._sign(signing_input)):
            return False
        payload = signing_input.partition(".")[2]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        with self._lock:
            exp = self._issued.get(str(claims.get("jti")))
        return exp is not None and self._epoch() < exp

    def expire_all(self) -> None:
        with self._lock:
            self._issued.clear()

    def _sign(self, signing_input: str) -> str:
        return _b64url(hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest())


def credentials_match(user: str, password: str, expected: tuple[str, str]) -> bool:
    """Constant-time comparison of a user/password pair with the ``expected`` one."""
    given = f"{user}\0{password}".encode()
    return hmac.compare_digest(given, "\0".join(expected).encode())


def basic_matches(value: str, expected: tuple[str, str]) -> bool:
    """Whether a ``Basic`` credential (base64 ``user:password``) is the ``expected`` pair."""
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except ValueError:  # also UnicodeDecodeError
        return False
    return bool(sep) and credentials_match(user, password, expected)


class RateLimiter:
    """At most ``limit`` requests per ``window`` seconds per client (sliding window)."""

    def __init__(self, clock: Callable[[], float], limit: int = 30, window: float = 30.0) -> None:
        self._clock = clock
        self._limit = limit
        self._window = window
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def check(self, client: str) -> int | None:
        """Count one request; ``None`` if allowed, else the Retry-After seconds (>= 1)."""
        with self._lock:
            now = self._clock()
            times = self._seen.setdefault(client, deque())
            while times and times[0] <= now - self._window:
                times.popleft()
            if len(times) >= self._limit:
                return max(1, math.ceil(times[0] + self._window - now))
            times.append(now)
            return None
