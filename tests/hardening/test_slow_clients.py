"""Red team, slow: hundreds of slow-loris connections against the real waitress server.

Issue 11's attack: 120 connections that each send half a request and one header line
every 20 s made ``/slack/events`` and ``/healthz`` unreachable.  Here 300 do it (faster,
every 2 s) while Slack's requests and the health check must keep being answered; and a
connection that goes quiet is closed after the channel timeout.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from bot.server import ServerLimits
from tests.hardening.support import guarded_bot, require_open_files, signed_command
from tests.support.harness import BotHarness

SLOW_CONNECTIONS = 300


def _open_slow(stack: ExitStack, port: int, count: int) -> list[socket.socket]:
    """``count`` half-sent requests, from loopback addresses 127.0.1.x (50 per address, within
    the per-address cap), so the bot's own clients on 127.0.0.1 keep their share."""
    socks = []
    for n in range(count):
        source = (f"127.0.1.{1 + n // 50}", 0)
        sock = stack.enter_context(
            socket.create_connection(("127.0.0.1", port), timeout=10, source_address=source)
        )
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n")
        socks.append(sock)
    return socks


def _answers_slack_and_health(bot: BotHarness, round_: int) -> None:
    assert httpx.get(f"{bot.url}/healthz", timeout=10).status_code == 503  # answered
    body, headers = signed_command(bot, "help", trigger_id=f"slow-{round_}")
    answer = httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=10)
    assert answer.status_code == 200
    assert answer.content != b""


@pytest.mark.slow
def test_300_slow_loris_connections_leave_slack_and_health_answering(tmp_path: Path) -> None:
    require_open_files(SLOW_CONNECTIONS + 256)
    # The request deadline is lifted: this measures the connection pool, not the deadline.
    limits = dataclasses.replace(ServerLimits(), request_deadline_seconds=120.0)
    with guarded_bot(tmp_path, limits) as bot, ExitStack() as stack:
        port = int(bot.url.rsplit(":", 1)[1])
        socks = _open_slow(stack, port, SLOW_CONNECTIONS)
        pause = threading.Event()
        for round_ in range(3):
            _answers_slack_and_health(bot, round_)
            for n, sock in enumerate(socks):
                sock.sendall(f"X-Slow-{round_}: {n}\r\n".encode())  # one header line each
            pause.wait(2.0)
        _answers_slack_and_health(bot, 99)
        # The slow clients were never answered or dropped for being many: all still open.
        for sock in socks:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)


@pytest.mark.slow
def test_a_connection_that_goes_quiet_is_closed_after_the_channel_timeout(
    tmp_path: Path,
) -> None:
    limits = ServerLimits()
    require_open_files(50 + 256)
    with guarded_bot(tmp_path, limits) as bot, ExitStack() as stack:
        port = int(bot.url.rsplit(":", 1)[1])
        socks = _open_slow(stack, port, 50)
        deadline = limits.channel_timeout_seconds + 3 * limits.cleanup_interval_seconds + 10
        for sock in socks:
            sock.settimeout(deadline)
            assert sock.recv(1024) == b""  # closed by the server, not answered
        _answers_slack_and_health(bot, 0)
