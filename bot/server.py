"""HTTP mode and the process lifecycle: waitress serves Slack events, health and metrics.

``POST /slack/events`` passes :class:`bot.slack.guard.SlackRequestGuard` (size limit,
signature, replay and shape checks) before bolt's WSGI adapter; ``GET /healthz`` is
liveness (503 only when this process cannot make progress: scheduler gone, a poll cycle or
Slack work stuck), ``GET /readyz`` readiness (503 only while starting, stopping or with the
work queue full; outside faults are listed as degraded ``reasons`` with 200), see
:mod:`bot.process.health`; ``GET /metrics`` is the Prometheus text format.  In Socket
Mode the same server answers these three only.  SIGTERM and SIGINT stop cleanly: the
server closes, no new poll starts, the running one finishes and the database is closed.
:class:`ServerLimits` are waitress's limits: many idle or slow connections must not starve
Slack's requests or the health check.
"""

from __future__ import annotations

import contextvars
import json
import logging
import resource
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from bot.config.settings import Settings
from bot.process.collector import freeze_startup_heap
from bot.process.metrics import CONTENT_TYPE
from bot.process.slowclients import limited_channel
from bot.runtime import Runtime
from bot.slack.guard import DEFAULT_MAX_BODY_BYTES, Replays, SlackRequestGuard
from bot.slack.listeners.commands import COMMAND

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"


@dataclass(frozen=True)
class ServerLimits:
    """waitress's limits for the bot's HTTP server.

    Idle or slow connections cost a file descriptor each but no worker thread (waitress
    only hands complete requests to threads), so a high ``connection_limit`` with a short
    ``channel_timeout`` keeps Slack and ``/healthz`` answered while hundreds are open.
    ``poll()`` instead of ``select()`` lifts the 1024-descriptor ceiling.  Two limits are
    ours (:mod:`bot.process.slowclients`): a request must be complete, head and body,
    ``request_deadline_seconds`` after its first byte however it is trickled, and one peer
    address holds at most ``per_peer_connections``.
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_header_bytes: int = 64 * 1024
    connection_limit: int = 1000
    channel_timeout_seconds: int = 20  # idle connections are closed after this
    cleanup_interval_seconds: int = 5  # how often idle connections are looked for
    threads: int = 8
    recv_bytes: int = 8192
    inbuf_overflow: int = 256 * 1024  # request bodies above this buffer to a temp file
    backlog: int = 1024
    request_deadline_seconds: float = 10.0  # a whole request (head and body), however slow
    per_peer_connections: int = 100  # connections one address may hold at once

    def waitress_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`waitress.server.create_server`."""
        return {
            "max_request_body_size": self.max_body_bytes,
            "max_request_header_size": self.max_header_bytes,
            "connection_limit": self.connection_limit,
            "channel_timeout": self.channel_timeout_seconds,
            "cleanup_interval": self.cleanup_interval_seconds,
            "threads": self.threads,
            "recv_bytes": self.recv_bytes,
            "inbuf_overflow": self.inbuf_overflow,
            "backlog": self.backlog,
            "asyncore_use_poll": True,
            "ident": "scanbot",
            "clear_untrusted_proxy_headers": True,
        }


def server_limits(settings: Settings) -> ServerLimits:
    """:class:`ServerLimits` for ``settings``: the body size is ``SCANBOT_MAX_BODY_BYTES``;
    the connection limit, idle timeout and threads are the product's own (tested against
    slow clients in ``tests/hardening``), not settings."""
    return ServerLimits(max_body_bytes=settings.scanbot_max_body_bytes)


def create_http_server(
    app: WSGIApplication,
    *,
    host: str,
    port: int,
    limits: ServerLimits | None = None,
    socket_map: dict[int, socket.socket] | None = None,
) -> BaseWSGIServer | MultiSocketServer:
    """waitress serving ``app`` with ``limits`` (unstarted; ``run()`` or drive its map)."""
    limits = limits or ServerLimits()
    options = limits.waitress_options()
    if socket_map is not None:
        options["map"] = socket_map
    server = create_server(app, host=host, port=port, **options)
    channel = limited_channel(
        request_deadline=limits.request_deadline_seconds, per_peer=limits.per_peer_connections
    )
    entries: list[object] = (
        list((server.map or {}).values()) if isinstance(server, MultiSocketServer) else [server]
    )
    for listener in entries:
        if not isinstance(listener, BaseWSGIServer):
            continue
        listener.channel_class = channel  # each accepted connection gets our two limits
    return server


#: How long a thread may hold the interpreter lock while another waits for it (CPython's
#: default is 5 ms).  Background work (a follow's database writes and Slack call, the poll
#: cycle) is CPU in this process; a request handed between waitress's threads waits up to
#: this long at each hand-over.  1 ms keeps acks prompt beside it (docs/performance.md,
#: "Where the time goes", acks).
SWITCH_INTERVAL_SECONDS = 0.001

#: Descriptors the process needs besides its HTTP connections (database, console, Slack...).
_SPARE_FDS = 128


def ensure_fd_capacity(connection_limit: int) -> int:
    """Raise the soft open-file limit towards ``connection_limit`` plus spare; return it.

    Logs a warning when the hard limit is too low: connections beyond it are refused
    by the kernel (``EMFILE``) instead of being queued.
    """
    needed = connection_limit + _SPARE_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        if target > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning(
            "open-file limit %d is below the %d that %d HTTP connections need; "
            "raise it (ulimit -n) or lower the connection limit",
            soft,
            needed,
            connection_limit,
        )
    return int(soft)


def build_wsgi_app(
    runtime: Runtime,
    *,
    serve_slack: bool,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    replay_cache: Replays | None = None,
) -> WSGIApplication:
    """The process's WSGI app: Slack events (HTTP mode only) and the health check."""
    slack = _guarded_slack(runtime, max_body_bytes, replay_cache) if serve_slack else None

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            healthy, report = runtime.health()
            return _json(start_response, 200 if healthy else 503, report)
        if path == "/readyz" and method in ("GET", "HEAD"):
            ready, readiness = runtime.readiness()
            return _json(start_response, 200 if ready else 503, readiness)
        if path == "/metrics" and method in ("GET", "HEAD"):
            body = runtime.metrics.exposition()
            start_response(
                "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]
            )
            return [body]
        if slack is not None and path == SLACK_EVENTS_PATH:
            # A context of its own: the request's log fields end with it.
            return contextvars.copy_context().run(slack, environ, start_response)
        return _json(start_response, 404, {"error": "not found"})

    return application


def _guarded_slack(
    runtime: Runtime, max_body_bytes: int, replay_cache: Replays | None
) -> WSGIApplication:
    secret = runtime.settings.slack_signing_secret
    if secret is None:
        raise ValueError("serving Slack over HTTP needs SLACK_SIGNING_SECRET")
    guard = SlackRequestGuard(
        SlackRequestHandler(runtime.app, path=SLACK_EVENTS_PATH),
        signing_secret=secret.get_secret_value(),
        max_body_bytes=max_body_bytes,
        # Shared through the database: a replay is ignored by every replica, after restarts too.
        replay_cache=replay_cache if replay_cache is not None else runtime.replays,
        commands=frozenset({COMMAND}),
    )
    return runtime.front_door.wrap(guard)  # background work gives way to these requests


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
    limits: ServerLimits | None = None,
) -> None:
    """Run until SIGTERM/SIGINT: start the scheduler, serve HTTP, then shut down cleanly."""
    socket_mode: SocketModeHandler | None = None
    limits = limits or server_limits(runtime.settings)
    ensure_fd_capacity(limits.connection_limit)
    server = create_http_server(
        build_wsgi_app(
            runtime,
            serve_slack=not runtime.settings.socket_mode,
            max_body_bytes=limits.max_body_bytes,
        ),
        host=host,
        port=port,
        limits=limits,
    )
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("received %s; shutting down", signal.Signals(signum).name)
        raise SystemExit(0)  # waitress's loop catches it and stops its workers

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous_switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
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
        freeze_startup_heap()
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
        sys.setswitchinterval(previous_switch_interval)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
