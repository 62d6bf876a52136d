"""HTTP mode and the process lifecycle: waitress serves Slack events and ``/healthz``.

``POST /slack/events`` goes to bolt's WSGI adapter (signature verified there);
``GET /healthz`` answers 200 with JSON once the scheduler runs and the database answers,
503 otherwise.  In Socket Mode the same server answers ``/healthz`` only.  SIGTERM and
SIGINT stop cleanly: the server closes, no new poll starts, the running one finishes and
the database is closed.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import TYPE_CHECKING

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.server import create_server

from bot.runtime import Runtime

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"


def build_wsgi_app(runtime: Runtime, *, serve_slack: bool) -> WSGIApplication:
    """The process's WSGI app: Slack events (HTTP mode only) and the health check."""
    slack = SlackRequestHandler(runtime.app, path=SLACK_EVENTS_PATH) if serve_slack else None

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            healthy, report = runtime.health()
            return _json(start_response, 200 if healthy else 503, report)
        if slack is not None and path == SLACK_EVENTS_PATH:
            return slack(environ, start_response)
        return _json(start_response, 404, {"error": "not found"})

    return application


def _json(start_response: StartResponse, status: int, payload: object) -> list[bytes]:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}.get(status, "")
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


class BackgroundServer:
    """The bot's WSGI app under waitress on a background thread, stoppable from any thread.

    For running the bot inside another program: the test harness does, and the embedded
    demo (``scanbot demo``) will; ``serve`` is what ``scanbot run`` uses.  The stand-ins
    the demo runs it against use the same idea for plain handlers
    (:class:`bot.sandbox.http.BackgroundHttpServer`); this one is waitress because it
    serves the production WSGI app.  The socket map is ours and the loop runs in short
    slices, so ``stop()`` closes the server from the loop's own thread — never under a
    ``select`` still using its sockets.
    """

    def __init__(self, app: WSGIApplication, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._map: dict[int, socket.socket] = {}
        self._server = create_server(app, map=self._map, host=host, port=port, threads=4)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scanbot-http", daemon=True)

    @property
    def port(self) -> int:
        return int(getattr(self._server, "effective_port", 0))

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.05, map=self._map, count=1)
        self._server.task_dispatcher.shutdown()
        self._server.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)


def serve(
    runtime: Runtime,
    *,
    host: str,
    port: int,
    on_listening: Callable[[int], None] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT: start the scheduler, serve HTTP, then shut down cleanly."""
    socket_mode: SocketModeHandler | None = None
    server = create_server(
        build_wsgi_app(runtime, serve_slack=not runtime.settings.socket_mode),
        host=host,
        port=port,
        threads=8,
        ident="scanbot",
        clear_untrusted_proxy_headers=True,
    )
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("received %s; shutting down", signal.Signals(signum).name)
        raise SystemExit(0)  # waitress's loop catches it and stops its workers

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        runtime.start()
        if runtime.settings.socket_mode:
            assert runtime.settings.slack_app_token is not None
            socket_mode = SocketModeHandler(
                runtime.app, runtime.settings.slack_app_token.get_secret_value()
            )
            socket_mode.connect()  # type: ignore[no-untyped-call]
            log.info("connected to Slack in Socket Mode")
        bound_port = int(getattr(server, "effective_port", port))
        log.info("listening on %s:%d", host, bound_port)
        if on_listening is not None:
            on_listening(bound_port)
        if not stopping.is_set():
            server.run()
    except SystemExit:
        pass
    finally:
        server.close()
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]
        runtime.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
