"""A local stand-in for Slack's Web API: a real HTTP server on loopback.

``slack_sdk.WebClient(token=..., base_url=stand_in.api_url)`` (and so a bolt ``App``) works
against it unchanged.  It answers the methods scanbot uses, keeps the messages posted,
records every call, can inject faults, and records what is POSTed to ``response_url``\\ s.

Python API::

    class SlackApiStandIn:
        def __init__(self, *, token="xoxb-test-token", team_id="T0TEST",
                     bot_user_id="U0SCANBOT") -> None
        def start(self, host="127.0.0.1", port=0) -> SlackApiStandIn   # non-blocking
        def stop(self) -> None                       # also a context manager
        url: str          # "http://127.0.0.1:PORT"
        api_url: str      # "http://127.0.0.1:PORT/api/"  (SLACK_API_URL, WebClient base_url)
        def response_url(self, name="r") -> str      # f"{url}/response/{name}"
        not_in_channel: set[str]     # chat.postMessage & co. answer "not_in_channel"
        missing_channels: set[str]   # every channel method answers "channel_not_found"
        def fail_next(self, method, error="internal_error", count=1) -> None
        def rate_limit_next(self, method, retry_after=1, count=1) -> None   # HTTP 429
        def fail_http_next(self, method, status=500, count=1) -> None
        calls: list[RecordedCall];  def calls_to(self, method) -> list[RecordedCall]
        responses: list[RecordedResponse]
        def messages(self, channel) -> list[dict]     # top-level messages now, oldest first
        def thread(self, channel, ts) -> list[dict]   # replies under ts, oldest first
        def wait_for_calls(self, method, count, timeout=5.0) -> list[RecordedCall]
        def wait_for_responses(self, count, timeout=5.0) -> list[RecordedResponse]
        def clear(self) -> None   # recordings, messages and pending faults

Requests are ``POST`` (or ``GET``) ``/api/<method>`` with a form or JSON body and the token in
``Authorization: Bearer`` or a ``token`` parameter; a wrong token answers ``invalid_auth``.
Methods: ``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
``conversations.history``, ``conversations.replies``, ``conversations.join``,
``conversations.info``; anything else answers ``unknown_method``.  Like Slack, history and
replies return a message's ``metadata`` only with ``include_all_metadata``; ``messages()``
and ``thread()`` always show it.  Faults queued for a method are used up in order, one per
call; calls are recorded (without the token) even when they fail.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.slack_signing import APP_ID
from bot.sandbox.slack_workspace import SlackMethodError, SlackWorkspace

_JSON_FIELDS = ("blocks", "attachments", "metadata")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One Web API call: decoded parameters (never the token) and when it arrived."""

    method: str
    params: dict[str, Any]
    at: float


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """One JSON body POSTed to a ``response_url`` (``path`` is e.g. ``/response/r``)."""

    path: str
    body: dict[str, Any]


@dataclass(slots=True)
class _Fault:
    status: int
    error: str
    remaining: int
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    retry_after: int | None = None


def _json_answer(payload: dict[str, Any], status: int = 200) -> _Answer:
    return _Answer(status, json.dumps(payload).encode("utf-8"))


def _decode_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string and body parameters; JSON-string ``blocks``/``metadata`` parsed."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if body and content_type.startswith("application/json"):
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("JSON body is not an object")
        params.update(decoded)
    elif body:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in _JSON_FIELDS:
        if isinstance(params.get(name), str):
            # Left as a string when not JSON; the method then answers invalid_blocks & co.
            with contextlib.suppress(ValueError):
                params[name] = json.loads(params[name])
    return params


def _fault_answer(fault: _Fault) -> _Answer:
    if fault.status == 200:
        return _json_answer({"ok": False, "error": fault.error})
    if fault.retry_after is not None:
        payload = json.dumps({"ok": False, "error": fault.error}).encode()
        return _Answer(fault.status, payload, retry_after=fault.retry_after)
    return _Answer(fault.status, HTTPStatus(fault.status).phrase.encode(), "text/plain")


def _summary(call: RecordedCall) -> str:
    shown = ", ".join(
        f"{key}={str(call.params[key])[:40]!r}"
        for key in ("channel", "ts", "thread_ts", "text")
        if key in call.params
    )
    return f"{call.method}({shown})"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], stand_in: SlackApiStandIn) -> None:
        super().__init__(address, _Handler)
        self.stand_in = stand_in


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the stand-in records calls instead."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.stand_in._handle(
            self.command, self.path, dict(self.headers.items()), body
        )
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        if answer.retry_after is not None:
            self.send_header("Retry-After", str(answer.retry_after))
        self.end_headers()
        self.wfile.write(answer.body)


class SlackApiStandIn:
    """Slack's Web API for one bot in one workspace, served on loopback.  Thread-safe."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",  # noqa: S107 - a test token
        team_id: str = "T0TEST",
        bot_user_id: str = "U0SCANBOT",
    ) -> None:
        self._token = token
        self._workspace = SlackWorkspace(
            team_id=team_id, bot_user_id=bot_user_id, bot_id="B0SCANBOT", app_id=APP_ID
        )
        self._cond = threading.Condition()
        self._calls: list[RecordedCall] = []
        self._responses: list[RecordedResponse] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackApiStandIn:
        """Bind and serve in a daemon thread; returns at once with ``self``."""
        if self._server is not None:
            raise RuntimeError("the Slack API stand-in is already running")
        self._server = _Server((host, port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-api-stand-in",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port.  Safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SlackApiStandIn:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("the Slack API stand-in is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """Base URL of the Web API, with the trailing slash slack_sdk expects."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "r") -> str:
        """A ``response_url`` whose POSTs are recorded under path ``/response/{name}``."""
        return f"{self.url}/response/{name}"

    # --- configuration and faults ----------------------------------------------------

    @property
    def not_in_channel(self) -> set[str]:
        """Channels the bot is not a member of (``conversations.join`` removes one)."""
        return self._workspace.not_in_channel

    @not_in_channel.setter
    def not_in_channel(self, channels: set[str]) -> None:
        with self._cond:
            self._workspace.not_in_channel = set(channels)

    @property
    def missing_channels(self) -> set[str]:
        """Channel ids that do not exist."""
        return self._workspace.missing_channels

    @missing_channels.setter
    def missing_channels(self, channels: set[str]) -> None:
        with self._cond:
            self._workspace.missing_channels = set(channels)

    def _queue(self, method: str, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._cond:
            self._faults.setdefault(method, deque()).append(fault)

    def fail_next(self, method: str, error: str = "internal_error", count: int = 1) -> None:
        """The next ``count`` calls to ``method`` answer ``{"ok": false, "error": error}``."""
        self._queue(method, _Fault(200, error, count))

    def rate_limit_next(self, method: str, retry_after: int = 1, count: int = 1) -> None:
        """The next ``count`` calls to ``method`` answer HTTP 429 with ``Retry-After``."""
        self._queue(method, _Fault(429, "ratelimited", count, retry_after))

    def fail_http_next(self, method: str, status: int = 500, count: int = 1) -> None:
        """The next ``count`` calls to ``method`` answer HTTP ``status`` with a text body."""
        self._queue(method, _Fault(status, "", count))

    # --- what happened ---------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """Every Web API call so far, in arrival order."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        """The calls to one method, in arrival order."""
        with self._cond:
            return [call for call in self._calls if call.method == method]

    @property
    def responses(self) -> list[RecordedResponse]:
        """Every ``response_url`` POST so far, in arrival order."""
        with self._cond:
            return list(self._responses)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of ``channel`` as they are now (edits applied), oldest first."""
        with self._cond:
            return self._workspace.messages(channel)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies in the thread under ``ts`` (the parent excluded), oldest first."""
        with self._cond:
            return self._workspace.thread(channel, ts)

    def _wait(
        self, found: Callable[[], list[_T]], count: int, timeout: float, what: str
    ) -> list[_T]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(items := found()) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recorded = [_summary(c) for c in self._calls]
                    responses = [f"{r.path}: {r.body}" for r in self._responses]
                    raise AssertionError(
                        f"expected {count} {what} within {timeout}s, got {len(items)}; "
                        f"recorded calls: {recorded or 'none'}; "
                        f"recorded responses: {responses or 'none'}"
                    )
                self._cond.wait(remaining)
            return items

    def wait_for_calls(self, method: str, count: int, timeout: float = 5.0) -> list[RecordedCall]:
        """Block until at least ``count`` calls to ``method`` arrived; return all of them."""

        def found() -> list[RecordedCall]:
            return [call for call in self._calls if call.method == method]

        return self._wait(found, count, timeout, f"call(s) to {method}")

    def wait_for_responses(self, count: int, timeout: float = 5.0) -> list[RecordedResponse]:
        """Block until at least ``count`` response_url POSTs arrived; return all of them."""
        return self._wait(lambda: list(self._responses), count, timeout, "response_url POST(s)")

    def clear(self) -> None:
        """Forget recorded calls and responses, messages and pending faults."""
        with self._cond:
            self._calls.clear()
            self._responses.clear()
            self._faults.clear()
            self._workspace.clear()

    # --- serving ---------------------------------------------------------------------

    def _handle(self, verb: str, target: str, headers: dict[str, str], body: bytes) -> _Answer:
        parts = urlsplit(target)
        content_type = next(
            (v for k, v in headers.items() if k.lower() == "content-type"), ""
        ).lower()
        if parts.path.startswith("/api/"):
            auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
            try:
                params = _decode_params(parts.query, body, content_type)
            except ValueError:
                return _json_answer({"ok": False, "error": "invalid_json"})
            return self._api_call(parts.path[len("/api/") :], params, auth)
        if parts.path.startswith("/response/") and verb == "POST":
            return self._record_response(parts.path, body)
        return _Answer(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def _record_response(self, path: str, body: bytes) -> _Answer:
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict):
            return _Answer(HTTPStatus.BAD_REQUEST, b"invalid_payload", "text/plain")
        with self._cond:
            self._responses.append(RecordedResponse(path, decoded))
            self._cond.notify_all()
        return _Answer(HTTPStatus.OK, b"ok", "text/plain")

    def _api_call(self, method: str, params: dict[str, Any], auth: str) -> _Answer:
        token = params.pop("token", None)
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :]
        with self._cond:
            self._calls.append(RecordedCall(method, params, time.time()))
            self._cond.notify_all()
            fault = self._take_fault(method)
            if fault is not None:
                return _fault_answer(fault)
            handler = self._workspace.methods.get(method)
            if handler is None:
                return _json_answer({"ok": False, "error": "unknown_method"})
            if token != self._token:
                return _json_answer({"ok": False, "error": "invalid_auth"})
            try:
                return _json_answer(handler(params))
            except SlackMethodError as err:
                return _json_answer({"ok": False, "error": err.error})

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining == 0:
            queue.popleft()
        return fault
