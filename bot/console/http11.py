"""HTTP/1.1 to the console over the standard library's ``http.client``, as an httpx transport.

httpx stays the client: URLs, auth flows, timeouts, the response model, ``MockTransport`` in
tests, and proxies from the environment (httpx mounts its own transports for those).  This
transport replaces httpcore underneath for direct connections.  A poll cycle sends one
request per followed image every few seconds; httpcore's per-request work was a third of
the CPU of the whole exchange (``docs/performance.md``, the cycle's requests), and the
console needs nothing beyond HTTP/1.1 keep-alive.

* **Connections** are kept per origin after a response was read to its end (at most
  ``max_idle`` per origin, for ``idle_expiry`` seconds); one the server closed while idle
  is noticed before it is used again.  A response not read to its end closes its
  connection.
* **TLS** uses the context httpx itself would build (``httpx.create_ssl_context``: the same
  trust store, ``PRISMA_CA_BUNDLE``, ``PRISMA_VERIFY_TLS``), with SNI and host name checks.
* **Timeouts** are the request's own (``connect`` for connecting, ``read``/``write`` for
  each socket operation), as httpx passes them.
* **Errors** are httpx's: ``ConnectError``/``ConnectTimeout`` while connecting,
  ``WriteError``/``WriteTimeout`` while sending, ``ReadError``/``ReadTimeout`` while
  reading, ``RemoteProtocolError`` for an answer that is not HTTP/1.1 — so the client's
  retries and messages (:mod:`bot.console.transport`) treat them as they treat httpcore's.
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import NoReturn

import httpx

#: Bytes read from the socket at a time while a body is read.
_CHUNK = 64 * 1024

_Origin = tuple[str, str, int]


class Http11Transport(httpx.BaseTransport):
    """A pooled HTTP/1.1 transport on ``http.client`` (thread-safe)."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        max_idle: int = 5,
        idle_expiry: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tls = httpx.create_ssl_context(verify=verify)
        self._max_idle = max_idle
        self._idle_expiry = idle_expiry
        self._clock = clock
        self._idle: dict[_Origin, list[tuple[float, http.client.HTTPConnection]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        body = request.read()
        connection = self._take(origin) or self._connect(origin, timeouts.get("connect"))
        try:
            response = self._exchange(connection, request, body, timeouts)
        except BaseException:
            connection.close()
            raise
        reason = (response.reason or "").encode("ascii", "replace")
        return httpx.Response(
            status_code=response.status,
            headers=response.getheaders(),
            stream=_Body(response, lambda reusable: self._give_back(origin, connection, reusable)),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _since, connection in connections:
                connection.close()

    # --- connections ------------------------------------------------------------------

    def _connect(self, origin: _Origin, timeout: float | None) -> http.client.HTTPConnection:
        scheme, host, port = origin
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._tls)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise httpx.ConnectTimeout(_text(exc, "connecting timed out")) from exc
        except (OSError, ssl.SSLError, ssl.CertificateError) as exc:
            connection.close()
            raise httpx.ConnectError(_text(exc, "could not connect")) from exc
        return connection

    def _take(self, origin: _Origin) -> http.client.HTTPConnection | None:
        """An idle connection to ``origin`` that is still open, if any."""
        now = self._clock()
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                if not idle:
                    return None
                since, connection = idle.pop()
            if now - since < self._idle_expiry and not _dropped(connection):
                return connection
            connection.close()

    def _give_back(
        self, origin: _Origin, connection: http.client.HTTPConnection, reusable: bool
    ) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if reusable and not self._closed and len(idle) < self._max_idle:
                idle.append((self._clock(), connection))
                return
        connection.close()

    # --- one exchange -----------------------------------------------------------------

    @staticmethod
    def _exchange(
        connection: http.client.HTTPConnection,
        request: httpx.Request,
        body: bytes,
        timeouts: dict[str, float | None],
    ) -> http.client.HTTPResponse:
        sock = connection.sock
        assert sock is not None
        try:
            sock.settimeout(timeouts.get("write"))
            connection.putrequest(
                request.method,
                request.url.raw_path.decode("ascii"),
                skip_host=True,
                skip_accept_encoding=True,
            )
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            connection.endheaders(body or None)
        except TimeoutError as exc:
            raise httpx.WriteTimeout(_text(exc, "sending timed out")) from exc
        except OSError as exc:
            raise httpx.WriteError(_text(exc, "the connection broke off while sending")) from exc
        try:
            sock.settimeout(timeouts.get("read"))
            return connection.getresponse()
        except BaseException as exc:  # noqa: BLE001 - mapped to httpx's errors, or raised
            _raise_read_error(exc)


class _Body(httpx.SyncByteStream):
    """A response body read from its connection; closing it gives the connection back
    (reusable only when the body was read to its end and the server keeps it open)."""

    def __init__(self, response: http.client.HTTPResponse, done: Callable[[bool], None]) -> None:
        self._response = response
        self._done: Callable[[bool], None] | None = done

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._response.read(_CHUNK)
            except BaseException as exc:  # noqa: BLE001 - mapped to httpx's errors, or raised
                self._finish(reusable=False)
                _raise_read_error(exc)
            if not chunk:
                short = self._response.length  # http.client ends a cut body silently
                if short:
                    self._finish(reusable=False)
                    raise httpx.RemoteProtocolError(f"the answer ended {short} bytes short")
                return
            yield chunk

    def close(self) -> None:
        response = self._response
        self._finish(reusable=response.isclosed() and not response.will_close)

    def _finish(self, *, reusable: bool) -> None:
        done, self._done = self._done, None
        if done is not None:
            if not reusable:
                self._response.close()
            done(reusable)


def _raise_read_error(exc: BaseException) -> NoReturn:
    if isinstance(exc, TimeoutError):
        raise httpx.ReadTimeout(_text(exc, "reading timed out")) from exc
    if isinstance(exc, http.client.HTTPException):
        # RemoteDisconnected, BadStatusLine, IncompleteRead, LineTooLong...
        raise httpx.RemoteProtocolError(_text(exc, "the server broke off the answer")) from exc
    if isinstance(exc, OSError):
        raise httpx.ReadError(_text(exc, "the connection broke off while reading")) from exc
    raise exc


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """True when an idle connection can no longer be used: the server closed it (its socket
    reads as ready: end of file, or data nobody asked for)."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _text(exc: BaseException, fallback: str) -> str:
    text = str(exc).strip()
    return text or fallback
