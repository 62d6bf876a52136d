"""The HTTP front door against the real waitress server: oversized bodies are refused
before they are read, malformed signed bodies get a short 400, forged ones 401, replays
are ignored, and idle connections do not lock Slack or the health check out."""

from __future__ import annotations

import io
import json
import logging
import select
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bot.sandbox.slack.signing import block_action_body, signed_headers, slash_command_body
from bot.server import ServerLimits
from bot.slack.guard import RefusedError, ReplayCache, SlackRequestGuard, read_body
from tests.hardening.support import (
    guarded_bot,
    raw_request,
    read_response,
    require_open_files,
    signed_command,
    status_of,
)
from tests.support.harness import SIGNING_SECRET, BotHarness

MIB = 1024 * 1024
HUGE = 200 * 1000 * 1000


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[BotHarness]:
    with guarded_bot(tmp_path) as bot:
        yield bot


def _port(bot: BotHarness) -> int:
    return int(bot.url.rsplit(":", 1)[1])


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _post(bot: BotHarness, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=10)


def _assert_no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


# --- size ------------------------------------------------------------------------------


def test_five_declared_200_mb_bodies_get_413_after_sending_only_a_kilobyte(
    guarded: BotHarness,
) -> None:
    """The 413 arrives while 199.99 MB of each body are still unsent: nothing waits for,
    buffers or reads them, so the process does not grow."""
    rss_before = _rss_bytes()
    for _ in range(5):
        head = (
            "POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {HUGE}"
        )
        response = raw_request(_port(guarded), head, b"x" * 1024)
        assert status_of(response) == 413
    assert _rss_bytes() - rss_before < 50 * MIB


def test_a_chunked_body_over_the_limit_gets_413(guarded: BotHarness) -> None:
    """No Content-Length to check: the server stops at the cap while reading chunks."""
    with socket.create_connection(("127.0.0.1", _port(guarded)), timeout=10) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"y" * 64 * 1024)
        try:
            for _ in range(17):  # 1 MiB + 64 KiB
                sock.sendall(chunk)
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered already: stop sending
        except (ConnectionResetError, BrokenPipeError):
            # The server refused and closed before the last chunk was sent (it does not read
            # what it refuses); its answer is already in our receive buffer.
            pass
        assert status_of(read_response(sock)) == 413


def test_the_guard_never_reads_past_the_cap() -> None:
    """With a length over the cap it reads nothing; without one it reads at most cap + 1."""

    class CountingInput(io.BytesIO):
        consumed = 0

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            self.consumed += len(data)
            return data

    declared = CountingInput(b"z" * 4096)
    with pytest.raises(RefusedError) as refused:
        read_body({"CONTENT_LENGTH": str(HUGE), "wsgi.input": declared}, 1024)
    assert (refused.value.status, declared.consumed) == (413, 0)

    unterminated = CountingInput(b"z" * 4096)
    environ = {"wsgi.input": unterminated, "wsgi.input_terminated": True}
    with pytest.raises(RefusedError):
        read_body(environ, 1024)
    assert unterminated.consumed == 1025


# --- signature and shape ---------------------------------------------------------------


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


MALFORMED = {
    "payload is not JSON": _form(payload="{not json"),
    "payload is a JSON list": _form(payload="[1, 2]"),
    "payload is a JSON string": _form(payload='"block_actions"'),
    "payload nests too deep": _form(payload="[" * 100_000),
    "body is binary": b"\xff\xfe\x00payload=\x81",
    "form has neither command nor payload": _form(token="t", user_id="U1"),
    "body is JSON": b'{"type": "block_actions"}',
    "payload repeated": _form(payload="{}") + b"&" + _form(payload="[]"),
    "command without response_url": _form(
        command="/scanprogress", text="help", user_id="U1", channel_id="C1"
    ),
    "payload type is an object": _form(payload=json.dumps({"type": {}})),
    "interaction type nobody handles": _form(payload=json.dumps({"type": "view_submission"})),
    "command nobody handles": _form(
        command="/other", text="", user_id="U1", channel_id="C1", response_url="https://h.test/"
    ),
    "actions missing": _form(payload=json.dumps({"type": "block_actions"})),
    "enterprise is a number": _form(
        payload=json.dumps(
            {"type": "block_actions", "enterprise": 5, "actions": [{"action_id": "a"}]}
        )
    ),
    "authorizations is a number": _form(
        payload=json.dumps({"type": "block_actions", "authorizations": 3, "actions": []})
    ),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_signed_malformed_bodies_get_400_with_a_reason_and_no_traceback(
    guarded: BotHarness, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = _post(guarded, body, signed_headers(SIGNING_SECRET, body))
    assert response.status_code == 400
    assert 0 < len(response.text) < 100
    _assert_no_tracebacks(caplog)
    refusals = [r for r in caplog.records if r.name == "bot.slack.guard"]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.INFO


def test_a_signed_body_of_another_content_type_gets_400(guarded: BotHarness) -> None:
    body, headers = signed_command(guarded, "help")
    response = _post(guarded, body, {**headers, "Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "content type" in response.text


def test_unsigned_forged_and_stale_requests_get_401(guarded: BotHarness) -> None:
    body, headers = signed_command(guarded, "help")
    unsigned = {"Content-Type": headers["Content-Type"]}
    forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    stale = signed_headers(
        SIGNING_SECRET, body, timestamp=int(headers["X-Slack-Request-Timestamp"]) - 600
    )
    garbled_time = {**headers, "X-Slack-Request-Timestamp": "soon"}
    for bad in (unsigned, forged, stale, garbled_time):
        assert _post(guarded, body, bad).status_code == 401
    # A malformed body without a valid signature is still 401: nothing unverified is parsed.
    assert _post(guarded, b"\xff", forged).status_code == 401


def test_refusal_log_lines_carry_no_response_url_or_signature(
    guarded: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = block_action_body(
        action_id="stop_watch", value="1", response_url="https://hooks.slack.test/secret-hook"
    ).replace(b"payload=%7B", b"payload=%7B%7B", 1)  # no longer JSON
    headers = signed_headers(SIGNING_SECRET, body)
    assert _post(guarded, body, headers).status_code == 400
    assert _post(guarded, body + b"&x=1", headers).status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "hooks.slack.test" not in logged
    assert headers["X-Slack-Signature"] not in logged
    _assert_no_tracebacks(caplog)


# --- bodies bolt would misread ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "user_name", "answered"),
    [
        ("team/payload-api:1.0", "alice", "Looking up"),
        ("payload", "alice", "payload"),
        ("help", "payload.admin", "/scanprogress"),
    ],
)
def test_a_command_that_mentions_payload_anywhere_is_answered_like_any_other(
    guarded: BotHarness, text: str, user_name: str, answered: str
) -> None:
    """bolt reads any form body containing the word "payload" as an interaction and finds
    none (``Unhandled request``, 404): the guard hands it a body that parses the same
    without that word, so ``/scanprogress team/payload-api:1.0`` works as usual."""
    body = slash_command_body(
        text=text, user_name=user_name, response_url=guarded.slack.response_url("payload")
    )
    assert b"payload" in body
    answer = _post(guarded, body, signed_headers(SIGNING_SECRET, body))
    assert answer.status_code == 200, answer.text
    assert answered in answer.text


# --- replay ----------------------------------------------------------------------------


def test_a_replayed_signed_command_is_answered_empty_and_not_dispatched(
    guarded: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body, headers = signed_command(guarded, "help")
    first = _post(guarded, body, headers)
    assert first.status_code == 200
    assert first.content != b""
    replay = _post(guarded, body, headers)
    assert (replay.status_code, replay.content) == (200, b"")
    assert any("replayed" in r.getMessage() for r in caplog.records)


def test_a_forged_signature_is_not_remembered_as_seen(guarded: BotHarness) -> None:
    """A forger who guesses a future request's signature cannot make it look replayed."""
    body, headers = signed_command(guarded, "help")
    assert _post(guarded, body + b"&x=1", headers).status_code == 401
    assert _post(guarded, body, headers).content != b""


def test_replay_memory_expires_after_two_signing_windows_and_stays_bounded() -> None:
    now = [0.0]
    cache = ReplayCache(window_seconds=300, max_entries=3, clock=lambda: now[0])
    assert not cache.seen_before("v0=a")
    assert cache.seen_before("v0=a")
    now[0] = 599.0
    assert cache.seen_before("v0=a")
    now[0] = 600.0
    assert not cache.seen_before("v0=a")  # expired, recorded again
    for name in ("v0=b", "v0=c", "v0=d"):
        assert not cache.seen_before(name)
    assert len(cache) == 3  # v0=a, the oldest, was forgotten to make room
    assert not cache.seen_before("v0=a")


def test_the_guard_passes_other_methods_through_untouched() -> None:
    seen: list[str] = []

    def inner(environ: dict[str, object], start_response: object) -> list[bytes]:
        seen.append(str(environ["REQUEST_METHOD"]))
        return [b""]

    guard = SlackRequestGuard(inner, signing_secret="s3cret")
    guard({"REQUEST_METHOD": "GET"}, lambda *a: None)  # type: ignore[arg-type]
    assert seen == ["GET"]


# --- idle connections ------------------------------------------------------------------


def test_150_idle_half_sent_requests_do_not_block_slack_or_health(guarded: BotHarness) -> None:
    """waitress's default limit of 100 connections queued everything after them.  They come
    from three loopback addresses (50 each, within the per-address cap)."""
    require_open_files(150 + 256)
    with ExitStack() as stack:
        for n in range(150):
            sock = stack.enter_context(
                socket.create_connection(
                    ("127.0.0.1", _port(guarded)), source_address=(f"127.0.1.{1 + n // 50}", 0)
                )
            )
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n")
        health = httpx.get(f"{guarded.url}/healthz", timeout=10)
        assert health.status_code == 503  # answered (scheduler not started in tests)
        body, headers = signed_command(guarded, "help", trigger_id="idle")
        help_answer = _post(guarded, body, headers)
        assert help_answer.status_code == 200
        assert help_answer.content != b""


def test_production_limits_cap_bodies_headers_and_idle_time() -> None:
    options = ServerLimits().waitress_options()
    assert options["max_request_body_size"] == MIB
    assert options["max_request_header_size"] == 64 * 1024
    assert options["connection_limit"] >= 1000
    assert options["channel_timeout"] <= 30
    assert options["asyncore_use_poll"] is True
