"""A simulated Prisma Cloud Compute console: a real HTTP server on loopback.

Used by ``scanbot progress --sandbox``, ``scanbot sandbox-console``, the demo and the tests.
Python API (the clock is any ``() -> float``; tests pass a manual one)::

    config = SandboxConsoleConfig(step_seconds=0.5, seed_on_demand=("library/alpine:3.16",))
    with SandboxConsole(config, clock=clock).start() as console:   # port 0: ephemeral
        console.url                      # "http://127.0.0.1:PORT"
        console.start_on_demand_scan("library/alpine", tag="3.16", images=3, fail_with=None,
                                     when_asked=False)   # True: clock starts at first ask
        console.start_regular_scan(registries=("a.example", "b.example"), repositories=4,
                                   images=12, fail_with=None)   # 1-4 registries in parallel
        console.finish_all()             # jump every scan to its end
        console.stall(30.0, image=None)  # counts stop moving for 30 s of clock, then resume
        console.stall_regular(30.0)      # only the regular scan's counts stop moving
        console.set_step_error("...", image=None)   # the current step reports an error
        console.add_registry_status_error("No available Defender was found")
        console.clear_registry_status_errors()
        console.seed_result("library/alpine:3.16", scanned_epoch=...)   # an older result
        console.set_result_delay(25.0)   # results written 25 s after the final answer;
                                         # None: never (config: result_delay_seconds)
        console.inject_fault("5xx" | "delay" | "401" | "429" | "reset" | "malformed" | "html",
                             count=1, path_contains="/registry/progress",
                             delay_seconds=0.0, retry_after=1.0)
        console.clear_faults()           # drop injected faults not yet consumed
        console.requests                 # [RecordedRequest(method, path, query, ...)]
        console.clear_requests()
        console.wait_for_requests(lambda r: ..., count=1, timeout=5.0)

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
  regular scans keep being served with ``isScanOngoing: false``; they never vanish); a scan
  of several registries is one entry whose step titles name the registries still busy
  (``... in registries a.example, b.example: ...``).
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
* ``GET statuses/registry`` -> ``defender.ScanStatus``: ``completed`` (the last regular scan
  ended without error), ``scanTime`` (when it ended, Go's zero time if none did),
  ``scanning``, ``errors`` (injected status errors, then failed regular scans' errors),
  ``hostname``, ``selective``.
* ``GET registry`` -> ``shared.ImageScanResult``-like results of every image whose scan
  ended (failed on-demand scans too, with ``err`` set); ``scanTime`` is when that scan
  finished.  An image keeps its previous result until a new scan of it finishes.  Filters
  ``name`` (``repo:tag``, ``registry/repo:tag``, ``docker.io/..`` for Docker Hub),
  ``repository``, ``registry``, ``id`` (repeated or comma-separated); ``sort`` (``scanTime``
  or ``id``; default image name) and ``reverse``; ``compact=true`` nulls ``vulnerabilities``,
  ``packages``, ``binaries`` and ``history`` like a real console (counts, distributions and
  ``vulnerabilityRiskScore`` stay); ``offset``, ``limit`` (default 50, at most 250); header
  ``Total-Count``.  Rate limited like the real console: 30 requests per 30 s per client
  address -> 429 with ``Retry-After``.

Scans advance with the injected clock: one item per ``step_seconds``, first the discovery
items (step 1/2), then the images (step 2/2).  ``fail_with`` makes a scan fail in step 2/2
after half its images (in step 1/2 at its end when ``images=0``): the step's ``error`` is
set and ``isScanOngoing`` turns false.  Faults are consumed in the order injected (the
first one whose ``path_contains`` matches); ``retry_after`` is sent as ``%g`` (``"1"``,
``"0.5"``).  Recorded requests never hold credentials: the Authorization header is reduced
to its scheme and ``password`` / ``token`` / ``secret`` body fields are redacted.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from bot.sandbox.console.config import RecordedRequest, SandboxConsoleConfig
from bot.sandbox.console.faults import Fault, FaultQueue
from bot.sandbox.console.http import RateLimiter, Request, TokenIssuer, redact
from bot.sandbox.console.images import ImageRef
from bot.sandbox.console.routes import ConsoleRoutes
from bot.sandbox.console.scans import DEFAULT_REGISTRY
from bot.sandbox.console.state import ScanSimulator
from bot.sandbox.http import BackgroundHttpServer, HttpRequest, HttpResponse, StandIn


def _image(image: str | None) -> ImageRef | None:
    return None if image is None else ImageRef.from_key(image)


class SandboxConsole(StandIn):
    """The simulated console.  Thread-safe; see the module docstring for the API."""

    def __init__(
        self,
        config: SandboxConsoleConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        config = config or SandboxConsoleConfig()
        self.config = config
        self._clock = clock
        self._state = ScanSimulator(
            clock,
            config.step_seconds,
            previous_regular_age=config.previous_regular_scan_age_seconds,
            result_delay=config.result_delay_seconds,
        )
        self._routes = ConsoleRoutes(
            config,
            self._state,
            TokenIssuer(self._state.epoch),
            RateLimiter(clock, limit=30, window=30.0),
        )
        self._faults = FaultQueue()
        self._requests_changed = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._server = BackgroundHttpServer(self.handle, name="sandbox-console")
        for key in config.seed_on_demand:
            self._state.start_on_demand(ImageRef.from_key(key), when_asked=True)
        if config.seed_regular_scan:
            self._state.start_regular()

    # --- lifecycle ------------------------------------------------------------------

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
        when_asked: bool = False,
    ) -> None:
        """(Re)start the on-demand scan of one image, as if requested through the API.

        ``when_asked``: the scan's clock starts when a client first asks about the image.
        """
        if not repo or not (tag or digest):
            raise ValueError("an on-demand scan needs a repo and a tag or digest")
        ref = ImageRef(repo=repo, tag=tag or "", digest=digest or "", registry=registry or "")
        self._state.start_on_demand(
            ref,
            discovery_total=discovery_total,
            images=images,
            step_seconds=step_seconds,
            fail_with=fail_with,
            when_asked=when_asked,
        )

    def start_regular_scan(
        self,
        *,
        registry: str = DEFAULT_REGISTRY,
        registries: Sequence[str] | None = None,
        repositories: int = 4,
        images: int = 12,
        step_seconds: float | None = None,
        fail_with: str | None = None,
    ) -> None:
        """(Re)start the regular scan of ``registry``, or of 1-4 ``registries`` in parallel.

        Each registry has ``repositories`` repositories and ``images`` images.
        """
        self._state.start_regular(
            registries=tuple(registries) if registries is not None else (registry,),
            repositories=repositories,
            images=images,
            step_seconds=step_seconds,
            fail_with=fail_with,
        )

    def finish_all(self) -> None:
        """Jump every scan to its end (a failing one to its failure)."""
        self._state.finish_all()

    def stall(self, seconds: float, *, image: str | None = None) -> None:
        """Ongoing scans (only ``image``'s, a key like ``library/alpine:3.16``) stop moving
        for ``seconds`` of clock time, then resume where they were."""
        self._state.stall(seconds, _image(image))

    def stall_regular(self, seconds: float) -> None:
        """Only the regular scan stops moving for ``seconds`` of clock time, then resumes."""
        self._state.stall_regular(seconds)

    def set_step_error(self, message: str, *, image: str | None = None) -> None:
        """The current step of ongoing scans (or ``image``'s) reports ``error: message``
        while the scan goes on; ``""`` clears it."""
        self._state.set_step_error(message, _image(image))

    def add_registry_status_error(self, message: str) -> None:
        """``GET statuses/registry`` lists ``message`` in ``errors`` from now on."""
        self._state.add_status_error(message)

    def clear_registry_status_errors(self) -> None:
        self._state.clear_status_errors()

    def seed_result(self, image: str, *, scanned_epoch: float) -> None:
        """Give ``image`` a result from an older scan, dated ``scanned_epoch``."""
        self._state.seed_result(ImageRef.from_key(image), scanned_epoch)

    def set_result_delay(self, seconds: float | None) -> None:
        """On-demand scan results are written ``seconds`` after the final progress answer
        (0: as the scan ends, the default); None: never (the image keeps its older result)."""
        self._state.set_result_delay(seconds)

    def epoch(self) -> float:
        """The console's "now" in epoch seconds (what ``scanTime`` values are made from)."""
        return self._state.epoch()

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

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, oldest first."""
        with self._requests_changed:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._requests_changed:
            self._requests.clear()

    def wait_for_requests(
        self,
        matching: Callable[[RecordedRequest], bool],
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Block until ``count`` recorded requests match; return the matching ones.

        Requests are recorded when they arrive, before any fault or answer.
        """
        deadline = time.monotonic() + timeout
        with self._requests_changed:
            while len(found := [r for r in self._requests if matching(r)]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{r.method} {r.path}" for r in self._requests]
                    raise AssertionError(
                        f"expected {count} matching request(s) within {timeout}s, "
                        f"got {len(found)}; recorded: {seen or 'none'}"
                    )
                self._requests_changed.wait(remaining)
            return found

    # --- request handling -----------------------------------------------------------
    def handle(self, raw: HttpRequest) -> HttpResponse | None:
        """Answer one request; ``None`` means: drop the connection without answering."""
        request = Request.parse(raw)
        recorded = RecordedRequest(
            request.method,
            request.path,
            request.query,
            request.scheme,
            redact(request.body) if request.body_ok else "<body that is not JSON, not kept>",
            self._clock(),
            raw.header("User-Agent"),
        )
        with self._requests_changed:
            self._requests.append(recorded)
            self._requests_changed.notify_all()
        fault = self._faults.take(request.path)
        if fault is not None:
            if fault.kind == "reset":
                return None
            if fault.kind != "delay":
                return fault.response()
            self._server.pause(fault.delay_seconds)
        return self._routes.route(request)


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
