"""A local stand-in for Slack's Web API: a real HTTP server on loopback.

``slack_sdk.WebClient(token=..., base_url=stand_in.api_url)`` (and so a bolt ``App``) works
against it unchanged.  It answers the methods scanbot uses, keeps the messages posted,
records every call, can inject faults, and records what is POSTed to ``response_url``\\ s.
The embedded demo runs the real bot against it; the tests read what the bot posted.

Python API::

    class SlackApiStandIn:
        def __init__(self, *, token="xoxb-test-token", team_id="T0TEST",
                     bot_user_id="U0SCANBOT", rate_limits=True) -> None
        def start(self, host="127.0.0.1", port=0) -> SlackApiStandIn   # non-blocking
        def stop(self) -> None                       # also a context manager
        url: str          # "http://127.0.0.1:PORT"
        api_url: str      # "http://127.0.0.1:PORT/api/"  (SLACK_API_URL, WebClient base_url)
        def response_url(self, name="r") -> str      # f"{url}/response/{name}"
        not_in_channel: set[str]     # chat.postMessage & co. answer "not_in_channel"
        missing_channels: set[str]   # every channel method answers "channel_not_found"
        archived_channels: set[str]  # posting answers "is_archived"
        deleted_users: set[str]      # users.info answers "deleted": true for them
        # faults, per method, used up one per call in the order queued (the kinds:
        # bot.sandbox.slack.faults.FaultKind; the tests' shorthands: tests/support/faults.py):
        def queue_fault(self, method, fault: SlackFault) -> None
        def rate_limit_next(self, method, retry_after=1, count=1) -> None   # HTTP 429
        # what happened:
        calls: list[RecordedCall];  def calls_to(self, method) -> list[RecordedCall]
        responses: list[RecordedResponse];  def responses_to(self, name) -> list[dict]
        def seen_at(self, name, original=None) -> list[dict]   # replace_original applied
        def messages(self, channel) -> list[dict]     # top-level messages now, oldest first
        def thread(self, channel, ts) -> list[dict]   # replies under ts, oldest first
        def ephemeral(self, channel, user=None) -> list[dict]   # chat.postEphemeral, in order
        def home_views(self, user) -> list[dict]   # views.publish (Home tab), in order
        def wait_for_calls(self, method, count, timeout=5.0) -> list[RecordedCall]
        def wait_for_responses(self, count, timeout=5.0) -> list[RecordedResponse]
        def clear_faults(self) -> None   # pending faults only (an outage ends)
        def clear(self) -> None   # recordings, messages, pending faults, rate budgets
        # Slack's published rate limits (bot.sandbox.slack.limits), on by default:
        rate_limits: SlackLimits | None   # None with rate_limits=False (never a 429 by itself)
        rate_limited: dict[str, int]      # 429s answered for exceeding a budget, per method

Requests are ``POST`` (or ``GET``) ``/api/<method>`` with a form or JSON body and the token in
``Authorization: Bearer`` or a ``token`` parameter; a wrong token answers ``invalid_auth``.
Methods: ``auth.test``, ``chat.postMessage`` (with ``metadata``), ``chat.update``,
``chat.postEphemeral``, ``conversations.history``, ``conversations.replies``,
``conversations.join``, ``conversations.info``, ``users.info``, ``views.publish``; anything
else answers ``unknown_method``.
Strict by default: every method is held to Slack's published budget (per tier per
workspace; ``chat.postMessage`` per channel) and answered 429 with ``Retry-After`` past it,
as Slack does; ``rate_limits=False`` turns that off, ``rate_limits=SlackLimits(clock=...)``
puts it on a clock the test moves (or ``SlackLimits().scaled(n)`` for larger budgets).
Like Slack, history and replies return a message's ``metadata`` only with
``include_all_metadata``; ``messages()`` and ``thread()`` always show it.  Calls are
recorded (without the token) when they arrive, even when they then fail.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from bot.sandbox.http import BackgroundHttpServer, HttpRequest, HttpResponse, StandIn
from bot.sandbox.slack.faults import FaultKind, FaultQueues, SlackFault, json_answer
from bot.sandbox.slack.limits import SlackLimits
from bot.sandbox.slack.signing import APP_ID
from bot.sandbox.slack.workspace import SlackMethodError, SlackWorkspace

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


def _summary(call: RecordedCall) -> str:
    shown = ", ".join(
        f"{key}={str(call.params[key])[:40]!r}"
        for key in ("channel", "ts", "thread_ts", "text")
        if key in call.params
    )
    return f"{call.method}({shown})"


class SlackApiStandIn(StandIn):
    """Slack's Web API for one bot in one workspace, served on loopback.  Thread-safe."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",  # noqa: S107 - a test token
        team_id: str = "T0TEST",
        bot_user_id: str = "U0SCANBOT",
        rate_limits: SlackLimits | bool = True,
    ) -> None:
        self._token = token
        if isinstance(rate_limits, SlackLimits):
            self._limits: SlackLimits | None = rate_limits
        else:
            self._limits = SlackLimits() if rate_limits else None
        self._workspace = SlackWorkspace(
            team_id=team_id, bot_user_id=bot_user_id, bot_id="B0SCANBOT", app_id=APP_ID
        )
        self._cond = threading.Condition()
        self._calls: list[RecordedCall] = []
        self._responses: list[RecordedResponse] = []
        self._faults = FaultQueues()
        self._server = BackgroundHttpServer(self._handle, name="slack-api-stand-in")

    # --- lifecycle -------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Base URL of the Web API, with the trailing slash slack_sdk expects."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "r") -> str:
        """A ``response_url`` whose POSTs are recorded under path ``/response/{name}``."""
        return f"{self.url}/response/{name}"

    # --- channels ----------------------------------------------------------------------

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

    @property
    def archived_channels(self) -> set[str]:
        """Archived channels: posting there answers ``is_archived``."""
        return self._workspace.archived_channels

    @archived_channels.setter
    def archived_channels(self, channels: set[str]) -> None:
        with self._cond:
            self._workspace.archived_channels = set(channels)

    @property
    def deleted_users(self) -> set[str]:
        """Users who left the workspace (``users.info`` says ``deleted``)."""
        return self._workspace.deleted_users

    @deleted_users.setter
    def deleted_users(self, users: set[str]) -> None:
        with self._cond:
            self._workspace.deleted_users = set(users)

    # --- faults --------------------------------------------------------------------------

    def queue_fault(self, method: str, fault: SlackFault) -> None:
        """Answer the next ``fault.remaining`` calls to ``method`` with ``fault`` (after the
        faults already queued for it); a ``STALL`` stall is cut short by ``stop()``."""
        self._faults.add(method, fault)

    def rate_limit_next(self, method: str, retry_after: int = 1, count: int = 1) -> None:
        """The next ``count`` calls to ``method`` answer HTTP 429 with ``Retry-After``."""
        fault = SlackFault(FaultKind.RATE_LIMITED, count, status=429, retry_after=retry_after)
        self.queue_fault(method, fault)

    # --- rate limits -------------------------------------------------------------------

    @property
    def rate_limits(self) -> SlackLimits | None:
        """The budgets enforced (``None``: none, the stand-in never answers 429 by itself)."""
        return self._limits

    @property
    def rate_limited(self) -> dict[str, int]:
        """How many calls of each method were answered 429 for exceeding Slack's budget
        (faults queued with :meth:`rate_limit_next` are not counted here)."""
        return {} if self._limits is None else self._limits.limited

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

    def responses_to(self, name: str) -> list[dict[str, Any]]:
        """The bodies POSTed to ``response_url(name)``, in arrival order."""
        with self._cond:
            return [r.body for r in self._responses if r.path == f"/response/{name}"]

    def seen_at(self, name: str, *, original: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """What the user sees of ``response_url(name)``'s answers now, oldest first.

        ``original`` is the message the URL answers (a slash command's ack, the message of a
        clicked button), if one was shown.  Like Slack, a body with ``replace_original``
        takes the place of the latest message shown, ``delete_original`` removes it, and
        any other body is shown after it.
        """
        shown = [original] if original else []
        for body in self.responses_to(name):
            if body.get("delete_original"):
                shown = shown[:-1]
            elif body.get("replace_original") and shown:
                shown[-1] = body
            else:
                shown.append(body)
        return shown

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of ``channel`` as they are now (edits applied), oldest first."""
        with self._cond:
            return self._workspace.messages(channel)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies in the thread under ``ts`` (the parent excluded), oldest first."""
        with self._cond:
            return self._workspace.thread(channel, ts)

    def ephemeral(self, channel: str, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages posted in ``channel`` (to ``user`` only, if given), in order."""
        with self._cond:
            return self._workspace.ephemeral(channel, user)

    def home_views(self, user: str) -> list[dict[str, Any]]:
        """The Home tab views published for ``user`` (``views.publish``), oldest first."""
        with self._cond:
            return self._workspace.home_views(user)

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

    def clear_faults(self) -> None:
        """Drop every fault not yet used up (an outage ends); messages and calls stay."""
        self._faults.clear()

    def clear(self) -> None:
        """Forget recorded calls and responses, messages, pending faults, the rate budgets
        used and the 429s counted."""
        with self._cond:
            if self._limits is not None:
                self._limits.reset()
            self._calls.clear()
            self._responses.clear()
            self._faults.clear()
            self._workspace.clear()

    # --- serving ---------------------------------------------------------------------

    def _handle(self, request: HttpRequest) -> HttpResponse | None:
        path = request.path
        if path.startswith("/api/"):
            content_type = (request.header("Content-Type") or "").lower()
            try:
                params = _decode_params(request.query_string, request.body, content_type)
            except ValueError:
                return json_answer({"ok": False, "error": "invalid_json"})
            auth = request.header("Authorization") or ""
            return self._api_call(path[len("/api/") :], params, auth)
        if path.startswith("/response/") and request.method == "POST":
            return self._record_response(path, request.body)
        return HttpResponse(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def _record_response(self, path: str, body: bytes) -> HttpResponse:
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict):
            return HttpResponse(HTTPStatus.BAD_REQUEST, b"invalid_payload", "text/plain")
        with self._cond:
            self._responses.append(RecordedResponse(path, decoded))
            self._cond.notify_all()
        return HttpResponse(HTTPStatus.OK, b"ok", "text/plain")

    def _api_call(self, method: str, params: dict[str, Any], auth: str) -> HttpResponse | None:
        token = params.pop("token", None)
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :]
        with self._cond:
            self._calls.append(RecordedCall(method, params, time.time()))
            self._cond.notify_all()
            retry_after = self._over_budget(method, params)
            if retry_after is not None:
                return SlackFault(FaultKind.RATE_LIMITED, 1, retry_after=retry_after).answer()
            fault = self._faults.take(method)
            if fault is not None and not fault.carries_out:
                return fault.answer()
            answer = self._carry_out(method, params, token)
        if fault is None:
            return answer
        if fault.kind is FaultKind.STALL:
            self._server.pause(fault.seconds)
            return answer
        return fault.answer()

    def _over_budget(self, method: str, params: dict[str, Any]) -> int | None:
        if self._limits is None:
            return None
        channel = params.get("channel")
        return self._limits.check(method, channel if isinstance(channel, str) else None)

    def _carry_out(self, method: str, params: dict[str, Any], token: object) -> HttpResponse:
        handler = self._workspace.methods.get(method)
        if handler is None:
            return json_answer({"ok": False, "error": "unknown_method"})
        if token != self._token:
            return json_answer({"ok": False, "error": "invalid_auth"})
        try:
            return json_answer(handler(params))
        except SlackMethodError as err:
            return json_answer({"ok": False, "error": err.error})
