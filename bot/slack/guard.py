"""The WSGI front door of ``/slack/events``: size limit, signature, replay and shape checks.

:class:`SlackRequestGuard` wraps bolt's WSGI adapter.  For every ``POST`` it, in order:

1. refuses a body over ``max_body_bytes`` with ``413`` — from ``Content-Length`` before
   reading anything, and by reading at most ``max_body_bytes + 1`` bytes otherwise;
2. verifies the Slack signature (v0 HMAC-SHA256 of the raw bytes, as
   ``slack_sdk.signature.SignatureVerifier`` checks it, within Slack's 5-minute window)
   and refuses a forged, stale or unsigned request with ``401``, so nothing unverified
   is ever parsed;
3. ignores a replay — a signature it has already accepted within the signing window —
   with an empty ``200`` and without dispatching it (in the database, shared by every
   replica and kept across restarts, when the server gives it
   :class:`bot.slack.replays.SharedReplays`; per process otherwise);
4. refuses a signed body bolt could not parse (not UTF-8, not a form, ``payload=`` that
   is not a JSON object, a form that is neither a slash command nor an interaction, a
   command or interaction type no listener handles, missing fields the listeners need, a
   content type Slack does not send, an event no listener handles: see
   :mod:`bot.slack.guard_events`) with ``400`` and a short reason.

Each refusal is one concise log line (no body, no signature, no ``response_url``).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from slack_bolt.request import BoltRequest

from bot.slack.guard_events import EventRefused, check_event

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

#: Slack's own payloads are a few KiB; 1 MiB leaves ample room.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: Slack rejects (and we refuse) signatures whose timestamp is further than this from now.
SIGNING_WINDOW_SECONDS = 300
#: The slash commands and interaction payload types scanbot's listeners handle.
DEFAULT_COMMANDS = frozenset({"/scanprogress"})
DEFAULT_INTERACTION_TYPES = frozenset({"block_actions"})
#: Accepted signatures remembered at most (oldest forgotten first).
DEFAULT_REPLAY_ENTRIES = 50_000
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_MAX_FORM_FIELDS = 100
_READ_CHUNK = 64 * 1024


class RefusedError(Exception):
    """A request answered with ``status`` and a short ``reason`` instead of being dispatched."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Replays(Protocol):
    """Where accepted signatures are remembered: :class:`ReplayCache` (this process) or
    :class:`bot.slack.replays.SharedReplays` (the database, every replica)."""

    def seen_before(self, signature: str, *, timestamp: int | None = None) -> bool: ...


class ReplayCache:
    """Signatures accepted recently, each kept for twice the signing window, bounded in size.

    Twice the window: a signature is valid while its timestamp is within the window of
    *now*, so one received with a timestamp up to a window in the future stays valid for
    two windows after receipt.  Durations use a monotonic clock (wall-clock steps do not
    expire entries early).  Per process: replicas do not share it.
    """

    def __init__(
        self,
        *,
        window_seconds: float = SIGNING_WINDOW_SECONDS,
        max_entries: int = DEFAULT_REPLAY_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._keep = 2 * window_seconds
        self._max = max_entries
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def seen_before(self, signature: str, *, timestamp: int | None = None) -> bool:
        """True if ``signature`` was recorded and has not expired; otherwise record it.
        (``timestamp``, the request's, is for shared caches; this one keeps its own time.)"""
        del timestamp
        now = self._clock()
        with self._lock:
            while self._expiry:
                oldest, expires = next(iter(self._expiry.items()))
                if expires > now:
                    break
                del self._expiry[oldest]
            if signature in self._expiry:
                return True
            if len(self._expiry) >= self._max:
                self._expiry.popitem(last=False)
            self._expiry[signature] = now + self._keep
            return False

    def remember(self, signature: str, *, seconds: float) -> None:
        """Record ``signature`` as seen for the next ``seconds`` (a signature accepted
        before this process started, read back from the database)."""
        if seconds <= 0:
            return
        with self._lock:
            if signature not in self._expiry and len(self._expiry) >= self._max:
                self._expiry.popitem(last=False)
            self._expiry[signature] = self._clock() + seconds


def read_body(environ: WSGIEnvironment, max_bytes: int) -> bytes:
    """The request body, refusing (413) one over ``max_bytes`` without reading past the cap."""
    raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ.get("wsgi.input")
    if raw_length:
        if not raw_length.isdigit():
            raise RefusedError(400, "invalid Content-Length")
        length = int(raw_length)
        if length > max_bytes:
            raise RefusedError(413, f"body over {max_bytes} bytes")
        return _read_at_most(stream, length) if stream is not None else b""
    if stream is None or not environ.get("wsgi.input_terminated", False):
        return b""  # PEP 3333: without a length, only a terminated stream may be read
    body = _read_at_most(stream, max_bytes + 1)
    if len(body) > max_bytes:
        raise RefusedError(413, f"body over {max_bytes} bytes")
    return body


def _read_at_most(stream: io.BufferedIOBase, limit: int) -> bytes:
    parts: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(remaining, _READ_CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def check_shape(
    body: bytes,
    content_type: str,
    *,
    commands: frozenset[str] = DEFAULT_COMMANDS,
    interaction_types: frozenset[str] = DEFAULT_INTERACTION_TYPES,
) -> bytes:
    """Refuse (400) a verified body that bolt could not parse into a request it handles;
    else the body to hand bolt (the same form; see :func:`_as_bolt_reads_it`).

    Only ``commands`` and ``interaction_types`` reach bolt: its matchers and its
    "unhandled request" warning fail on odd shapes of payloads no listener wants."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in (_FORM, _JSON):
        raise RefusedError(400, f"content type must be {_FORM} (or {_JSON} for events)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedError(400, "body is not UTF-8") from None
    if media_type == _JSON:
        try:
            check_event(text)
        except EventRefused as exc:
            raise RefusedError(400, str(exc)) from None
        return body
    if text.startswith("{"):
        raise RefusedError(400, "body is not a form")  # bolt would try it as JSON
    try:
        fields = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, max_num_fields=_MAX_FORM_FIELDS
        )
    except ValueError:
        raise RefusedError(400, "body is not a form") from None
    names = [name for name, _ in fields]
    if len(set(names)) != len(names):
        raise RefusedError(400, "form repeats a field")
    form = dict(fields)
    if "payload" in form:
        _check_payload(form["payload"], interaction_types)
    elif "command" in form:
        _check_command(form, commands)
    elif "ssl_check" not in form:
        raise RefusedError(400, "form is neither a slash command nor an interaction payload")
    if "payload" not in form:
        text = _as_bolt_reads_it(text)
    _check_bolt_parses(text)
    return text.encode("utf-8")


def _as_bolt_reads_it(form: str) -> str:
    """A form without a ``payload`` field that bolt parses as the same form.

    bolt's parser takes any form body in which the word ``payload`` appears *anywhere* —
    a slash command's text ``team/payload-api:1.0``, a channel or user name — for an
    interaction, finds no ``payload`` field and dispatches an empty request (404,
    "Unhandled request"). Percent-encoding one letter of the word changes nothing that
    ``parse_qsl`` decodes; the signature was checked over the bytes Slack sent."""
    return form.replace("payload", "%70ayload")


def _check_payload(raw: str, interaction_types: frozenset[str]) -> None:
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise RefusedError(400, "payload is not JSON") from None
    if not isinstance(payload, dict):
        raise RefusedError(400, "payload is not a JSON object")
    kind = payload.get("type")
    if not isinstance(kind, str) or kind not in interaction_types:
        raise RefusedError(400, "unsupported interaction type")
    for key in ("user", "team", "channel", "enterprise", "container", "message", "view"):
        if not isinstance(payload.get(key), dict | str | None):
            raise RefusedError(400, f"payload {key} is not an object")
    if "event" in payload and not isinstance(payload["event"], dict):
        raise RefusedError(400, "payload event is not an object")  # bolt's middleware reads it
    authorizations = payload.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        raise RefusedError(400, "payload authorizations is not a list of objects")
    if payload["type"] == "block_actions":
        _check_block_actions(payload)


def _check_command(form: dict[str, str], commands: frozenset[str]) -> None:
    """Slack sends every slash command with these; the listener relies on them."""
    if form["command"] not in commands:
        raise RefusedError(400, "unknown command")
    missing = [name for name in ("user_id", "channel_id") if not form.get(name)]
    if missing or not _is_url(form.get("response_url")):
        raise RefusedError(400, "slash command needs user_id, channel_id and response_url")


def _check_block_actions(payload: dict[str, Any]) -> None:
    """A button click on a message: who, where, which button, and where to answer."""
    actions = payload.get("actions")
    if (
        not isinstance(actions, list)
        or not actions
        or not all(
            isinstance(a, dict)
            and isinstance(a.get("action_id"), str)
            and isinstance(a.get("value", ""), str)
            for a in actions
        )
    ):
        raise RefusedError(400, "block_actions payload needs actions with action_id and value")
    for key in ("user", "channel"):
        holder = payload.get(key)
        if not isinstance(holder, dict) or not isinstance(holder.get("id"), str):
            raise RefusedError(400, f"block_actions payload needs {key}.id")
    if not _is_url(payload.get("response_url")):
        raise RefusedError(400, "block_actions payload needs a response_url")


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _check_bolt_parses(text: str) -> None:
    """Parse the body exactly as bolt will, so its parser never fails inside dispatch."""
    try:
        BoltRequest(body=text, headers={"content-type": _FORM})
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        raise RefusedError(400, "payload has an unexpected shape") from None


class SlackRequestGuard:
    """WSGI middleware in front of bolt's adapter for ``POST /slack/events`` (see module doc)."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        signing_secret: str,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        replay_cache: Replays | None = None,
        commands: frozenset[str] = DEFAULT_COMMANDS,
        interaction_types: frozenset[str] = DEFAULT_INTERACTION_TYPES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be at least 1")
        self._app = app
        if not signing_secret.strip():
            raise ValueError("signing_secret must not be empty")
        self._secret = signing_secret.encode("utf-8")
        self._clock = clock
        self._commands = commands
        self._interaction_types = interaction_types
        self._max_body_bytes = max_body_bytes
        self._replays: Replays = replay_cache if replay_cache is not None else ReplayCache()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self._app(environ, start_response)
        try:
            body = read_body(environ, self._max_body_bytes)
            if not self._verified(environ, body):
                raise RefusedError(401, "invalid or missing Slack signature")
            signature = str(environ["HTTP_X_SLACK_SIGNATURE"])
            timestamp = int(str(environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"]))
            if self._replays.seen_before(signature, timestamp=timestamp):
                log.info("ignored a replayed Slack request from %s", _client(environ))
                return _answer(start_response, 200, b"")
            body = check_shape(
                body,
                str(environ.get("CONTENT_TYPE") or ""),
                commands=self._commands,
                interaction_types=self._interaction_types,
            )
        except RefusedError as refused:
            log.info(
                "refused Slack request from %s: %d %s",
                _client(environ),
                refused.status,
                refused.reason,
            )
            return _answer(start_response, refused.status, refused.reason.encode())
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self._app(environ, start_response)

    def _verified(self, environ: WSGIEnvironment, body: bytes) -> bool:
        """Slack's v0 HMAC-SHA256 over the raw bytes (slack_sdk's verifier decodes the body
        as UTF-8 first and would fail on binary), within the signing window."""
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
        if not timestamp.isdigit() or len(timestamp) > 12 or not signature.isascii():
            return False
        if abs(self._clock() - int(timestamp)) > SIGNING_WINDOW_SECONDS:
            return False
        base = b"v0:" + timestamp.encode("ascii") + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 413: "Content Too Large"}


def _answer(start_response: StartResponse, status: int, body: bytes) -> list[bytes]:
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    if status == 413:
        headers.append(("Connection", "close"))  # the unread body must not become a request
    start_response(f"{status} {_REASONS.get(status, '')}", headers)
    return [body]


def _client(environ: WSGIEnvironment) -> str:
    return str(environ.get("REMOTE_ADDR") or "unknown client")
