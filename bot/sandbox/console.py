"""A simulated Prisma Cloud Compute console: a real HTTP server on loopback.

Used by the tests and by ``scanbot sandbox-console`` (the demo).  Python API::

    config = SandboxConsoleConfig(step_seconds=0.5, seed_on_demand=("library/alpine:3.16",))
    with SandboxConsole(config, clock=ManualClock()).start() as console:   # port 0: ephemeral
        console.url                      # "http://127.0.0.1:PORT"
        console.start_on_demand_scan("library/alpine", tag="3.16", images=3, fail_with=None)
        console.start_regular_scan(registry="registry.example.com", repositories=4, images=12)
        console.finish_all()             # jump every scan to its end
        console.inject_fault("5xx" | "delay" | "401" | "429" | "reset" | "malformed",
                             count=1, path_contains="/registry/progress",
                             delay_seconds=0.0, retry_after=1.0)
        console.expire_tokens()          # every token issued so far becomes invalid
        console.clear_faults()           # drop injected faults not yet consumed
        console.requests                 # [RecordedRequest(method, path, query, ...)]
        console.clear_requests()

    serve_forever(config, "127.0.0.1", 8083)   # blocking; Ctrl-C or SIGTERM stops it

HTTP, under ``/api/<version>/`` for the served versions (``served_api_versions``; ``None``
means ``v1`` plus ``v<major>.<minor>`` of ``version``; ``"*"`` in the set serves any
``v1`` / ``vNN.NN``; any other prefix gets 404 ``{"err": ...}``):

* ``GET _ping`` (no auth) 200 empty; ``GET version`` the JSON string ``"34.04.145"``.
* ``POST authenticate`` ``{"username", "password"}`` -> ``{"token": "<HS256 JWT>"}`` whose
  ``exp`` is now + ``token_ttl_seconds`` (integral epoch seconds); bad credentials -> 401.
* Every other endpoint wants ``Authorization: Bearer <token>`` or ``Basic`` with the
  configured user/password, else 401 ``{"err": ...}``.  ``project`` is accepted and ignored.
* ``GET registry/progress``: no image parameters -> one entry per regular scan (finished
  regular scans keep being served with ``isScanOngoing: false``; they never vanish).
  ``onDemand=true&repo=..&(tag|digest)=..[&registry=..]`` -> that image's scan: one entry
  while ongoing, the finished entry exactly once, then ``[]`` until it is scanned again;
  ``[]`` if never scanned.  Images match on exactly the (registry, repo, tag, digest) the
  scan was started with.  Image parameters without ``onDemand=true``, or ``onDemand=true``
  without repo / without tag and digest -> 400 ``{"err": ...}``.
* ``POST registry/scan``: ``{"onDemandScan": true, "tag": {"repo", "tag"|"digest",
  "registry"?}}`` starts an on-demand scan (1 discovery item, 1 image; an ongoing scan of
  the same image is left alone); without ``onDemandScan`` it (re)starts the regular scan of
  ``tag.registry`` / ``settings.registry``, or of every known registry.  Bad body -> 400.
* ``POST registry/stop`` freezes ongoing regular scans.
* ``GET registry`` -> ``shared.ImageScanResult``-like summaries of every image whose scan
  ended (failed on-demand scans too, with ``err`` set), sorted by image key.  Filters
  ``name`` (``repo:tag``, ``registry/repo:tag``, ``docker.io/..`` for Docker Hub),
  ``repository``, ``registry``, ``id`` (repeated or comma-separated), ``compact`` (drops the
  distributions, risk score and OS fields; counts stay), ``offset``, ``limit`` (default 50,
  at most 250); header ``Total-Count``.  Rate limited like the real console: 30 requests per
  30 s per client address -> 429 with ``Retry-After``.

Scans advance with the injected clock: one item per ``step_seconds``, first the discovery
items (step 1/2), then the images (step 2/2).  ``fail_with`` makes a scan fail in step 2/2
after half its images (in step 1/2 at its end when ``images=0``): the step's ``error`` is
set and ``isScanOngoing`` turns false.  Faults are consumed in the order injected (the
first one whose ``path_contains`` matches); ``retry_after`` is sent as ``%g`` (``"1"``,
``"0.5"``).  Recorded requests never hold credentials: the Authorization header is reduced
to its scheme and ``password`` / ``token`` / ``secret`` body fields are redacted.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType, TracebackType

from bot.sandbox.console_http import (
    FAULT_KINDS,
    Fault,
    FaultQueue,
    HttpServer,
    RateLimiter,
    Request,
    Response,
    TokenIssuer,
    basic_matches,
    credentials_match,
    error,
    json_response,
    redact,
)
from bot.sandbox.console_images import ImageRef, ResultQuery, split_values
from bot.sandbox.console_state import DEFAULT_REGISTRY, ManualClock, ScanSimulator

__all__ = [
    "FAULT_KINDS",
    "ManualClock",
    "RecordedRequest",
    "SandboxConsole",
    "SandboxConsoleConfig",
    "serve_forever",
]

_VERSION_PATH = re.compile(r"^/api/(v\d+(?:\.\d+)?)/(.+)$")
_MAX_LIMIT = 250
_IMAGE_PARAMS = ("repo", "tag", "digest", "registry")


@dataclass(frozen=True)
class SandboxConsoleConfig:
    """How the sandbox console behaves; all fields have demo-friendly defaults."""

    user: str = "sandbox"
    password: str = "sandbox-password"  # noqa: S105 - a sandbox credential, printed on purpose
    version: str = "34.04.145"
    token_ttl_seconds: float = 600
    step_seconds: float = 1.0
    served_api_versions: frozenset[str] | None = None  # None: v1 + v<major>.<minor> of version
    seed_on_demand: tuple[str, ...] = ()  # image keys like "library/alpine:3.16" started at boot
    seed_regular_scan: bool = False

    def api_versions(self) -> frozenset[str]:
        """The served ``/api/<version>/`` prefixes (``"*"``: any ``v1`` / ``vNN.NN``)."""
        if self.served_api_versions is not None:
            return self.served_api_versions
        return frozenset({"v1", "v" + ".".join(self.version.split(".")[:2])})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the console saw it, without credentials."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorization_scheme: str | None
    body: object | None
    at: float  # clock time when it arrived


class SandboxConsole:
    """The simulated console.  Thread-safe; see the module docstring for the API."""

    def __init__(
        self,
        config: SandboxConsoleConfig = SandboxConsoleConfig(),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._clock = clock
        self._state = ScanSimulator(clock, config.step_seconds)
        self._tokens = TokenIssuer(self._state.epoch)
        self._limiter = RateLimiter(clock, limit=30, window=30.0)
        self._faults = FaultQueue()
        self._versions = config.api_versions()
        self._credentials = (config.user, config.password)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server: HttpServer | None = None
        for key in config.seed_on_demand:
            self._state.start_on_demand(ImageRef.from_key(key))
        if config.seed_regular_scan:
            self._state.start_regular()
        self._routes: dict[str, tuple[str, Callable[[Request], Response]]] = {
            "version": ("GET", lambda _: json_response(200, self.config.version)),
            "registry": ("GET", self._results),
            "registry/progress": ("GET", self._progress),
            "registry/scan": ("POST", self._scan),
            "registry/stop": ("POST", self._stop_regular),
        }

    # --- lifecycle ------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> SandboxConsole:
        """Serve from a daemon thread (non-blocking); returns ``self``."""
        if self._server is not None:
            raise RuntimeError("the sandbox console is already started")
        self._stopping.clear()
        self._server = HttpServer(self.handle, host, port)
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and wait for the server threads."""
        if self._server is not None:
            self._stopping.set()  # wakes requests sleeping in a "delay" fault
            self._server.stop()
            self._server = None

    def __enter__(self) -> SandboxConsole:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("the sandbox console is not started")
        return self._server.url

    # --- scans ----------------------------------------------------------------------
    def start_on_demand_scan(
        self,
        repo: str,
        *,
        tag: str | None = None,
        digest: str | None = None,
        registry: str | None = None,
        discovery_total: int = 1,
        images: int = 1,
        step_seconds: float | None = None,
        fail_with: str | None = None,
    ) -> None:
        """(Re)start the on-demand scan of one image, as if requested through the API."""
        if not repo or not (tag or digest):
            raise ValueError("an on-demand scan needs a repo and a tag or digest")
        ref = ImageRef(repo=repo, tag=tag or "", digest=digest or "", registry=registry or "")
        self._state.start_on_demand(
            ref,
            discovery_total=discovery_total,
            images=images,
            step_seconds=step_seconds,
            fail_with=fail_with,
        )

    def start_regular_scan(
        self,
        *,
        registry: str = DEFAULT_REGISTRY,
        repositories: int = 4,
        images: int = 12,
        step_seconds: float | None = None,
    ) -> None:
        """(Re)start the regular scan of ``registry``."""
        self._state.start_regular(
            registry=registry, repositories=repositories, images=images, step_seconds=step_seconds
        )

    def finish_all(self) -> None:
        """Jump every scan to its end (a failing one to its failure)."""
        self._state.finish_all()

    # --- faults, tokens, recording --------------------------------------------------
    def inject_fault(
        self,
        kind: str,
        *,
        count: int = 1,
        path_contains: str | None = None,
        delay_seconds: float = 0.0,
        retry_after: float = 1.0,
    ) -> None:
        """Make the next ``count`` matching requests fail with ``kind`` (see FAULT_KINDS)."""
        self._faults.add(Fault(kind, count, path_contains, delay_seconds, retry_after))

    def clear_faults(self) -> None:
        """Drop every injected fault not yet consumed."""
        self._faults.clear()

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far."""
        self._tokens.expire_all()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # --- request handling -----------------------------------------------------------
    def handle(self, request: Request) -> Response | None:
        """Answer one request; ``None`` means: drop the connection without answering."""
        recorded = RecordedRequest(
            request.method,
            request.path,
            request.query,
            request.scheme,
            redact(request.body) if request.body_ok else "<body that is not JSON, not kept>",
            self._clock(),
        )
        with self._lock:
            self._requests.append(recorded)
        fault = self._faults.take(request.path)
        if fault is not None:
            if fault.kind == "reset":
                return None
            if fault.kind != "delay":
                return fault.response()
            self._stopping.wait(fault.delay_seconds)
        return self._route(request)

    def _route(self, request: Request) -> Response:
        match = _VERSION_PATH.match(request.path)
        if match is None:
            return error(404, f"not found: {request.path}")
        version, endpoint = match.groups()
        if version not in self._versions and "*" not in self._versions:
            return error(404, f"API version {version} is not served by this console")
        if endpoint == "_ping" and request.method == "GET":
            return Response(200)
        if endpoint == "authenticate" and request.method == "POST":
            return self._authenticate(request)
        if endpoint not in self._routes:
            if endpoint in ("_ping", "authenticate"):
                return error(405, f"method {request.method} not allowed on {request.path}")
            return error(404, f"not found: {request.path}")
        method, endpoint_handler = self._routes[endpoint]
        if request.method != method:
            allow = ("Allow", method)
            return error(405, f"method {request.method} not allowed on {request.path}", allow)
        if not self._authorized(request.authorization):
            return error(401, "missing, invalid or expired credentials")
        if not request.body_ok:
            return error(400, "request body is not valid JSON")
        return endpoint_handler(request)

    def _authenticate(self, request: Request) -> Response:
        body = request.body
        if not isinstance(body, dict):
            return error(400, "expected a JSON object with username and password")
        user, password = body.get("username"), body.get("password")
        if not (
            isinstance(user, str)
            and isinstance(password, str)
            and credentials_match(user, password, self._credentials)
        ):
            return error(401, "invalid credentials")
        return json_response(
            200, {"token": self._tokens.issue(user, self.config.token_ttl_seconds)}
        )

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            return basic_matches(value, self._credentials)
        return scheme.lower() == "bearer" and self._tokens.valid(value)

    # --- endpoints --------------------------------------------------------------------
    def _progress(self, request: Request) -> Response:
        flag = request.param("onDemand", "false").lower()
        if flag not in ("true", "false"):
            return error(400, "onDemand must be true or false")
        params = {k: request.param(k) for k in _IMAGE_PARAMS if k in request.query}
        if flag == "false":
            if params:
                return error(
                    400, f"{', '.join(sorted(params))}: on-demand parameters need onDemand=true"
                )
            return json_response(200, self._state.regular_progress())
        if not params.get("repo"):
            return error(400, "repo is required with onDemand=true")
        if not (params.get("tag") or params.get("digest")):
            return error(400, "tag or digest is required with onDemand=true")
        return json_response(200, self._state.on_demand_progress(ImageRef(**params)))

    def _scan(self, request: Request) -> Response:
        body = {} if request.body is None else request.body
        if not isinstance(body, dict):
            return error(400, "expected a shared.RegistryScanRequest JSON object")
        tag, settings = body.get("tag") or {}, body.get("settings") or {}
        on_demand = body.get("onDemandScan", False)
        if not isinstance(tag, dict) or not isinstance(settings, dict):
            return error(400, "tag and settings must be JSON objects")
        fields = {k: tag.get(k) or "" for k in _IMAGE_PARAMS}
        if not isinstance(on_demand, bool) or not all(isinstance(v, str) for v in fields.values()):
            return error(400, "onDemandScan must be a boolean and tag fields strings")
        if not on_demand:
            registry = fields["registry"] or settings.get("registry")
            self._state.restart_regular(registry if isinstance(registry, str) else None)
            return Response(200)
        if not fields["repo"]:
            return error(400, "tag.repo is required for an on-demand scan")
        if not (fields["tag"] or fields["digest"]):
            return error(400, "tag.tag or tag.digest is required for an on-demand scan")
        self._state.start_on_demand(ImageRef(**fields), restart=False)
        return Response(200)

    def _stop_regular(self, request: Request) -> Response:
        self._state.stop_regular()
        return Response(200)

    def _results(self, request: Request) -> Response:
        retry_after = self._limiter.check(request.client)
        if retry_after is not None:
            return error(429, "rate limit exceeded", ("Retry-After", str(retry_after)))
        try:
            offset, limit = int(request.param("offset", "0")), int(request.param("limit", "0"))
        except ValueError:
            return error(400, "offset and limit must be integers")
        if offset < 0 or limit < 0:
            return error(400, "offset and limit must be >= 0")
        query = ResultQuery(
            names=split_values(request.query.get("name", [])),
            repositories=split_values(request.query.get("repository", [])),
            registries=split_values(request.query.get("registry", [])),
            ids=split_values(request.query.get("id", [])),
            compact=request.param("compact", "false").lower() == "true",
            offset=offset,
            limit=min(limit or 50, _MAX_LIMIT),
        )
        page, total = self._state.results(query)
        return json_response(200, page, ("Total-Count", str(total)))


def serve_forever(config: SandboxConsoleConfig, host: str, port: int) -> None:
    """Run the sandbox console until Ctrl-C or SIGTERM; prints where and how to log in."""
    stop = threading.Event()

    def _on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    console = SandboxConsole(config).start(host, port)
    try:
        print(f"sandbox console: {console.url}", flush=True)
        print(f"  user: {config.user}  password: {config.password}", flush=True)
        print(f"  API versions: {', '.join(sorted(config.api_versions()))}", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        console.stop()
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        print("sandbox console stopped", flush=True)
