"""The bot behind waitress with the production limits (:class:`bot.server.ServerLimits`).

:func:`guarded_bot` reuses the harness's console, Slack stand-in and runtime, and serves
the same WSGI app from a second waitress configured exactly as ``serve()`` configures it.
Raw-socket helpers speak HTTP/1.1 by hand, for requests no HTTP client would send.
"""

from __future__ import annotations

import dataclasses
import resource
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from waitress import wasyncore

from bot.sandbox.slack.signing import signed_headers, slash_command_body
from bot.server import ServerLimits, build_wsgi_app, create_http_server
from tests.support.harness import SIGNING_SECRET, BotHarness, running_bot


@contextmanager
def serving(app: Any, limits: ServerLimits) -> Iterator[int]:
    """Run ``create_http_server(app, limits)`` on a thread, polling as ``server.run()`` does."""
    socket_map: dict[int, socket.socket] = {}
    server = create_http_server(app, host="127.0.0.1", port=0, limits=limits, socket_map=socket_map)
    stopping = threading.Event()

    def run() -> None:
        while not stopping.is_set():
            wasyncore.loop(timeout=0.05, map=socket_map, use_poll=True, count=1)
        server.task_dispatcher.shutdown()
        for channel in list(socket_map.values()):
            channel.close()

    thread = threading.Thread(target=run, name="scanbot-http-limits", daemon=True)
    thread.start()
    try:
        yield int(getattr(server, "effective_port", 0))
    finally:
        stopping.set()
        thread.join(timeout=10)


@contextmanager
def guarded_bot(tmp_path: Path, limits: ServerLimits | None = None) -> Iterator[BotHarness]:
    """The harness's bot, but served with ``limits`` (production defaults if omitted)."""
    limits = limits or ServerLimits()
    with running_bot(tmp_path) as bot:
        app = build_wsgi_app(bot.runtime, serve_slack=True, max_body_bytes=limits.max_body_bytes)
        with serving(app, limits) as port:
            yield dataclasses.replace(bot, url=f"http://127.0.0.1:{port}")


def require_open_files(needed: int) -> None:
    """Raise the soft open-file limit to ``needed`` if allowed; skip the test if not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard == resource.RLIM_INFINITY or hard >= needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        return
    pytest.skip(f"open-file limit (ulimit -n) is {hard}; this test needs {needed}")


def signed_command(
    bot: BotHarness, text: str, *, trigger_id: str = "1.2.3"
) -> tuple[bytes, dict[str, str]]:
    """A ``/scanprogress text`` body (answers go to the Slack stand-in) and the headers
    Slack would sign it with."""
    hook = bot.slack.response_url(f"cmd-{trigger_id}")
    body = slash_command_body(text=text, trigger_id=trigger_id, response_url=hook)
    return body, signed_headers(SIGNING_SECRET, body)


def raw_request(port: int, head: str, body: bytes = b"", *, timeout: float = 10) -> bytes:
    """Send ``head`` (request line and headers, CRLF-separated) and ``body``; return the
    response bytes read until the server closes the connection or a full response arrived."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        return read_response(sock)


def read_response(sock: socket.socket) -> bytes:
    """Read one response (headers and a ``Content-Length`` body, or until close)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        None,
    )
    while length is not None and len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])
