"""HTTP plumbing of the sandbox console: requests, responses, tokens, faults, rate limit, server.

Nothing here knows the console's endpoints; :mod:`bot.sandbox.console` routes
:class:`Request` objects to them.  :class:`HttpServer` serves a ``handle`` callable from a
daemon thread and, on :meth:`HttpServer.stop`, drops open keep-alive connections and waits
for its threads, so tests leave nothing running.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import secrets
import socket
import socketserver
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = frozenset({"5xx", "delay", "401", "429", "reset", "malformed"})
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
    def parse(
        cls, method: str, target: str, authorization: str | None, raw: bytes, client: str
    ) -> Request:
        split = urlsplit(target)
        body: object | None = None
        body_ok = True
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                body, body_ok = raw.decode("utf-8", "replace"), False
        query = parse_qs(split.query, keep_blank_values=True)
        return cls(method, split.path, query, authorization, body, body_ok, client)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def json_response(status: int, payload: object, *headers: tuple[str, str]) -> Response:
    return Response(status, json.dumps(payload, separators=(",", ":")).encode(), headers=headers)


def error(status: int, message: str, *headers: tuple[str, str]) -> Response:
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


@dataclass
class Fault:
    kind: str
    remaining: int
    path_contains: str | None
    delay_seconds: float
    retry_after: float

    def response(self) -> Response:
        """The answer of a "5xx", "401", "429" or "malformed" fault."""
        if self.kind == "5xx":
            return error(503, "service unavailable (injected fault)")
        if self.kind == "401":
            return error(401, "token expired or invalid (injected fault)")
        if self.kind == "429":
            retry_after = ("Retry-After", f"{self.retry_after:g}")
            return error(429, "too many requests (injected fault)", retry_after)
        return Response(200, b'[{"discovery": {"total": 1, "scann')


class FaultQueue:
    """Injected faults, consumed in order by the first request whose path matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; use one of {sorted(FAULT_KINDS)}")
        if fault.remaining < 1 or fault.delay_seconds < 0 or fault.retry_after < 0:
            raise ValueError("count must be >= 1, delay_seconds and retry_after >= 0")
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains is None or fault.path_contains in path:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


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


Handle = Callable[[Request], Response | None]  # None: drop the connection unanswered


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handle: Handle) -> None:
        super().__init__(address, _Handler)
        self.handle_request_object = handle
        self._open: dict[socket.socket, threading.Thread] = {}
        self._open_lock = threading.Lock()

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse DNS lookup (``getfqdn``), which can be slow."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, conn: socket.socket, opened: bool) -> None:
        with self._open_lock:
            if opened:
                self._open[conn] = threading.current_thread()
            else:
                self._open.pop(conn, None)

    def close_connections(self) -> None:
        with self._open_lock:
            open_now = list(self._open.items())
        for conn, _ in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for _, thread in open_now:
            thread.join(timeout=5)

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up (timeouts, resets) are normal here; stay quiet about them."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "sandbox-console"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, opened=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, opened=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr log."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        request = Request.parse(
            self.command, self.path, self.headers.get("Authorization"), raw, self.client_address[0]
        )
        response = self.server.handle_request_object(request)
        if response is None:  # "reset": close with RST, no answer
            self.close_connection = True
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            return
        self.send_response(response.status)
        if response.body or response.status != 200:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815 - stdlib names


class HttpServer:
    """Serves ``handle`` on ``host:port`` from a daemon thread until :meth:`stop`."""

    def __init__(self, handle: Handle, host: str, port: int) -> None:
        self._server = _Server((host, port), handle)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"sandbox-console-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._server.server_address[0]!s}:{self.port}"

    def stop(self) -> None:
        """Stop accepting, drop open connections, wait for every server thread."""
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._thread.join(timeout=5)
