"""waitress's connections with two limits of our own: a deadline on each whole request,
and a cap on the connections one peer address may hold.

waitress closes a connection only when it has been *idle* for ``channel_timeout``: a
client that sends a byte every few seconds is never idle, so enough of them fill the
server's ``connection_limit`` and nobody else is answered.  :func:`limited_channel` makes
a channel class that

* closes a connection whose request (head and body) is not complete ``request_deadline``
  seconds after its first byte arrived, however the bytes are trickled; and
* refuses (closes at once) a connection from a peer address that already holds
  ``per_peer`` connections.

Behind a reverse proxy every connection comes from the proxy's address, so the per-peer
cap then limits the proxy as a whole: the proxy's own limits per client are required.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from waitress.channel import HTTPChannel

log = logging.getLogger(__name__)

#: At most one log line per this many seconds about refused or cut-off connections.
LOG_EVERY_SECONDS = 60.0


class _Counts:
    """Connections refused and cut off since the last log line (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused = 0
        self._cut = 0
        self._logged_at = 0.0

    def add(self, *, refused: int = 0, cut: int = 0) -> None:
        now = time.monotonic()
        with self._lock:
            self._refused += refused
            self._cut += cut
            if now - self._logged_at < LOG_EVERY_SECONDS:
                return
            refused_now, cut_now = self._refused, self._cut
            self._refused = self._cut = 0
            self._logged_at = now
        log.warning(
            "HTTP: %d connection(s) refused for holding too many from one address, %d closed "
            "for not completing a request in time (slow or flooding clients)",
            refused_now,
            cut_now,
        )


def limited_channel(*, request_deadline: float, per_peer: int) -> type[HTTPChannel]:
    """An :class:`HTTPChannel` subclass enforcing ``request_deadline`` and ``per_peer``."""
    counts = _Counts()

    class LimitedChannel(HTTPChannel):
        _request_started: float | None = None

        def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
            super().__init__(server, sock, addr, adj, map=map)
            peer = addr[0] if isinstance(addr, tuple) and addr else None
            if peer is None:
                return
            held = sum(
                1
                for channel in list(server.active_channels.values())
                if isinstance(channel.addr, tuple) and channel.addr and channel.addr[0] == peer
            )
            if held > per_peer:
                counts.add(refused=1)
                self.handle_close()

        def received(self, data: bytes) -> bool:
            if data and self.request is None and self._request_started is None:
                self._request_started = time.monotonic()
            accepted = bool(super().received(data))
            if self.request is None:  # nothing partial left: the next request starts anew
                self._request_started = None
            return accepted

        def readable(self) -> bool:
            started = self._request_started
            if (
                started is not None
                and not self.will_close
                and time.monotonic() - started > request_deadline
            ):
                counts.add(cut=1)
                self.will_close = True  # closed by the loop, as waitress's idle timeout does
                return False
            return bool(super().readable())

    return LimitedChannel
