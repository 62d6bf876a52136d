"""Raw sockets on loopback against the real waitress server and its two limits of ours.

* A client trickling a request a byte at a time (never idle, so waitress's idle timeout
  never closes it) is closed once its request is not complete ``request_deadline_seconds``
  after its first byte.
* One address holding ``per_peer_connections`` gets no more: the next connection from it
  is closed at once, while another address (``127.0.0.2``) is still answered.

Before these limits, the trickling client stayed open as long as it kept sending, and an
address could hold every connection up to waitress's ``connection_limit``: both failed.
Bounded: a handful of sockets, every wait capped.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from contextlib import ExitStack, suppress
from pathlib import Path

import httpx

from bot.server import ServerLimits
from tests.hardening.support import guarded_bot, signed_command

LIMITS = dataclasses.replace(
    ServerLimits(), request_deadline_seconds=1.0, per_peer_connections=5, channel_timeout_seconds=60
)
GIVE_UP = 15.0  # seconds: far past the deadline plus waitress's loop, on a loaded machine


def test_a_request_trickled_a_byte_at_a_time_is_cut_off_at_the_deadline(tmp_path: Path) -> None:
    with guarded_bot(tmp_path, LIMITS) as bot:
        port = int(bot.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            head = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n" + b"X-Slow: " + b"a" * 200
            closed = False
            started = time.monotonic()
            pause = threading.Event()
            for byte in head:  # 0.2 s apart: never idle
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    closed = True
                    break
                sock.setblocking(False)
                try:
                    closed = sock.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
                sock.setblocking(True)
                if closed or time.monotonic() - started > GIVE_UP:
                    break
                pause.wait(0.2)
        assert closed, "the trickling client was never cut off"
        body, headers = signed_command(bot, "help", trigger_id="after-trickle")
        answer = httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=10)
        assert answer.status_code == 200


def test_one_address_gets_no_more_than_its_share_of_connections(tmp_path: Path) -> None:
    with guarded_bot(tmp_path, LIMITS) as bot, ExitStack() as stack:
        port = int(bot.url.rsplit(":", 1)[1])
        held = [
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            for _ in range(LIMITS.per_peer_connections)
        ]
        extra = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        extra.settimeout(GIVE_UP)
        try:
            refused = extra.recv(1) == b""
        except ConnectionResetError:
            refused = True
        assert refused

        other_address = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=other_address, timeout=10) as client:
            assert client.get(f"{bot.url}/healthz").status_code in (200, 503)  # answered
        for sock in held:  # those within the share are still open
            sock.setblocking(False)
            with suppress(BlockingIOError):
                assert sock.recv(1) != b""
