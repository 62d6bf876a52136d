"""One small HTTP server on a background thread, shared by the sandbox's stand-ins.

Both stand-ins (the simulated console and the Slack Web API) serve a plain function
``handle(HttpRequest) -> HttpResponse | None`` with :class:`BackgroundHttpServer`::

    server = BackgroundHttpServer(handle, name="sandbox-console").start("127.0.0.1", 0)
    server.url          # "http://127.0.0.1:PORT"
    server.pause(2.0)   # sleep in a handler; returns early (True) once stop() was called
    server.stop()       # from any thread, also from a handler; safe to call twice

``None`` from ``handle`` drops the connection with a TCP reset and no answer.  ``stop()``
stops accepting, wakes handlers sleeping in :meth:`BackgroundHttpServer.pause`, shuts open
keep-alive connections and waits for the server's threads, so tests leave nothing running.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as received: method, target (path and query), headers, raw body."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client: str  # the client's IP address

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query_string(self) -> str:
        return urlsplit(self.target).query

    @property
    def query(self) -> dict[str, list[str]]:
        """Query parameters, blank values kept, repeated ones as lists."""
        return parse_qs(self.query_string, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


Handle = Callable[[HttpRequest], HttpResponse | None]  # None: reset the connection, no answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handle: Handle, server_header: str) -> None:
        super().__init__(address, _Handler)
        self.handle_request_object = handle
        self.server_header = server_header
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
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up (timeouts, resets) are normal here; stay quiet about them."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def version_string(self) -> str:
        return self.server.server_header

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, opened=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, opened=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr log; the stand-ins record requests."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        request = HttpRequest(
            self.command,
            self.path,
            tuple(self.headers.items()),
            raw,
            str(self.client_address[0]),
        )
        response = self.server.handle_request_object(request)
        if response is None:  # close with RST, no answer
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


class BackgroundHttpServer:
    """Serves ``handle`` from a daemon thread between :meth:`start` and :meth:`stop`."""

    def __init__(self, handle: Handle, *, name: str, server_header: str | None = None) -> None:
        self._handle = handle
        self._name = name
        self._server_header = server_header or name
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> BackgroundHttpServer:
        """Bind ``host:port`` (0: any free port) and serve; returns at once with ``self``."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError(f"{self._name} is already running")
            self._stopping.clear()
            server = _Server((host, port), self._handle, self._server_header)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name=f"{self._name}-{server.server_address[1]}",
                daemon=True,
            )
            self._server, self._thread = server, thread
        thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        return int(self._require().server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        server = self._require()
        return f"http://{server.server_address[0]!s}:{int(server.server_address[1])}"

    def pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` in a handler; ``True`` if cut short by :meth:`stop`."""
        return self._stopping.wait(seconds)

    def stop(self) -> None:
        """Stop accepting, wake paused handlers, drop open connections, join the threads."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        self._stopping.set()
        if thread is not threading.current_thread():
            server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not threading.current_thread():
            thread.join(timeout=5)

    def _require(self) -> _Server:
        server = self._server
        if server is None:
            raise RuntimeError(f"{self._name} is not running; call start() first")
        return server


class StandIn:
    """What every stand-in shares: a :class:`BackgroundHttpServer` in ``self._server``,
    started and stopped explicitly or as a context manager."""

    _server: BackgroundHttpServer

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Bind and serve from a daemon thread; returns at once with ``self``."""
        self._server.start(host, port)
        return self

    def stop(self) -> None:
        """Stop serving (waking delayed answers) and release the port.  Safe to call twice."""
        self._server.stop()

    def __enter__(self) -> Self:
        return self if self._server.running else self.start()

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
        return self._server.url
