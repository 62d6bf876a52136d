"""The Prisma Cloud Compute console client.

One :class:`ConsoleClient` is shared by all threads.  Its
:class:`~bot.console.transport.ConsoleHttp` keeps one pooled ``httpx.Client`` whose
``auth`` is :class:`~bot.console.auth.BearerTokenAuth` (JWT renewed before it expires,
once more after a 401) or ``httpx.BasicAuth``, retries transient failures with stamina,
reads at most :data:`~bot.console.answers.MAX_ANSWER_BYTES` of an answer and honours a
429's ``Retry-After`` for the whole console.  The client resolves the API version once,
maps statuses to :class:`~bot.console.errors.ConsoleError` subclasses (see that module
for the hierarchy) and parses the answers; no error text carries a credential in any
encoding.

``scan_result`` queries ``GET /registry?repository=<repo>[&registry=<registry>]&compact=true``
(exact repository names, unlike ``name=`` which is the UI's free-text filter), newest scans
first, and picks the entry whose tag/digest match; ``scan_results`` asks the same for many
images at once (``repository`` repeated).  The console limits that endpoint to 30 requests
per 30 s, so a :class:`SlidingWindowLimiter` keeps scanbot under it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from types import TracebackType

import httpx

from bot.config.settings import Settings
from bot.console.answers import Answer, decode_json, not_the_api
from bot.console.auth import BearerTokenAuth, TokenManager
from bot.console.errors import (
    ApiVersionNotFound,
    AuthenticationFailed,
    ConsoleError,
    ConsoleTooOld,
    ConsoleUnavailable,
    HeldBack,
    PermissionDenied,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from bot.console.memo import ProgressMemo
from bot.console.models import parse_progress, parse_registry_status, parse_scan_results
from bot.console.observer import ConsoleObserver, outcome_of
from bot.console.ratelimit import RetryAfterGate, SlidingWindowLimiter
from bot.console.redact import Redactor
from bot.console.transport import ConsoleHttp, Params
from bot.console.wire import (
    api_version_of,
    error_detail,
    matches_target,
    retry_after_seconds,
    version_tuple,
)
from bot.domain.console_types import ProgressEntry, RegistryStatus, ResultLookup, ScanResult
from bot.domain.images import ScanTarget

logger = logging.getLogger(__name__)

_REGISTRY_LIMIT = 30  # GET /registry: 30 requests ...
_REGISTRY_WINDOW = 30.0  # ... per 30 seconds (documented by the console)
_RESULTS_PAGE = 20  # newest scans of one repository looked at by scan_result
_RESULTS_BATCH = 50  # repositories asked about in one request by scan_results ...
_BATCH_PAGE = 100  # ... for this many of their newest scans (a page of GET /registry)
#: Endpoints newer than some consoles: a 404 there on an older console is ConsoleTooOld.
_ENDPOINT_SINCE = {"registry/progress": (30, 2)}


def _progress_params(target: ScanTarget | None) -> dict[str, str]:
    """The only place that names an image for ``/registry/progress``: always with onDemand."""
    if target is None:
        return {}
    return {"onDemand": "true", **target.query_params()}


class ConsoleClient:
    """Thread-safe client of the console API endpoints scanbot uses.

    ``transport`` (e.g. ``httpx.MockTransport``), ``clock`` (wall clock, for JWT expiry and
    HTTP-date ``Retry-After``) and ``monotonic`` (for the 429 wait) are for tests.
    ``observer`` hears about every logical request (metrics, readiness).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        observer: ConsoleObserver | None = None,
    ) -> None:
        settings.require_console()
        self._observer = observer
        assert settings.prisma_console_url is not None
        assert settings.prisma_user is not None
        assert settings.prisma_password is not None
        user = settings.prisma_user
        password = settings.prisma_password.get_secret_value()
        self._redact = Redactor(user, password)
        self._clock = clock
        self._basic = settings.prisma_auth == "basic"
        auth: httpx.Auth
        if self._basic:
            auth = httpx.BasicAuth(user, password)
        else:
            auth = BearerTokenAuth(TokenManager(self._authenticate, clock))
        self._credentials = {"username": user, "password": password}
        self._gate = RetryAfterGate(monotonic)
        self._http = ConsoleHttp(
            settings, auth=auth, redact=self._redact, gate=self._gate, transport=transport
        )
        self._api_version = settings.prisma_api_version
        self._pinned = settings.prisma_api_version is not None
        self._console_version: str | None = None
        self._version_lock = threading.Lock()
        self._progress_memo = ProgressMemo()
        self._registry_limiter = SlidingWindowLimiter(
            _REGISTRY_LIMIT,
            _REGISTRY_WINDOW,
            max_wait=settings.prisma_timeout_seconds,
            what="GET /registry",
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: ConsoleObserver | None = None
    ) -> ConsoleClient:
        """The production client (real transport and clocks)."""
        return cls(settings, observer=observer)

    # --- public API ---------------------------------------------------------------------

    @property
    def api_version(self) -> str:
        """``PRISMA_API_VERSION`` when pinned, else ``v<major>.<minor>`` asked once."""
        if self._api_version is not None:
            return self._api_version
        with self._version_lock:
            if self._api_version is None:
                self._api_version = api_version_of(self._fetch_version("v1"))
                logger.info("console API version %s detected", self._api_version)
            return self._api_version

    def ping(self) -> None:
        """``GET /api/v1/_ping``: raises :class:`ConsoleError` unless the console is up."""
        with self._observed("_ping"):
            path = "/api/v1/_ping"
            answer = self._http.call("GET", path, authenticated=False)
            if answer.status == 401:  # consoles that want credentials even here
                answer = self._http.call("GET", path)
            self._check(answer, path, "_ping")
            if answer.is_html():
                raise not_the_api("_ping")

    def version(self) -> str:
        """The console's version string, e.g. ``34.04.145``."""
        return self._fetch_version(self.api_version)

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]:
        """Progress of the regular scan (no target) or of ``target``'s on-demand scan.

        An entry whose ``isScanOngoing`` is not a JSON boolean makes the whole answer an
        :class:`UnexpectedResponse` (see :mod:`bot.console.models`).
        """
        answer = self._request("GET", "registry/progress", params=_progress_params(target))
        return self._progress_memo.parse(
            "" if target is None else target.key,
            answer.body,
            lambda: parse_progress(decode_json(answer, "registry/progress")),
        )

    def registry_status(self) -> RegistryStatus:
        """``GET /statuses/registry``: when the last regular scan completed, and its errors."""
        answer = self._request("GET", "statuses/registry")
        return parse_registry_status(decode_json(answer, "statuses/registry"))

    def trigger_scan(self, target: ScanTarget) -> None:
        """Start an on-demand scan of ``target``."""
        body = {"onDemandScan": True, "tag": target.image_tag()}
        self._request("POST", "registry/scan", json=body)

    def scan_result(self, target: ScanTarget) -> ScanResult | None:
        """The newest scan result of ``target``, or None when the console has none.

        Waits for ``GET /registry``'s rate limit (up to ``PRISMA_TIMEOUT_SECONDS``)."""
        found, _full = self._results_page([target], limit=_RESULTS_PAGE)
        return found[target.key]

    def scan_results(self, targets: Sequence[ScanTarget]) -> ResultLookup:
        """The newest results of several images, :data:`_RESULTS_BATCH` repositories a
        request, never waiting for ``GET /registry``'s rate limit.

        Each request asks for the newest scans of its images' repositories (one registry a
        request).  An image whose match is not on a full page is asked again alone; what
        the rate limit does not allow now, or a failed request, is left out of the answer
        (:class:`ResultLookup`), to be asked again later.
        """
        found: dict[str, ScanResult | None] = {}
        unique = list({target.key: target for target in targets}.values())
        by_registry: dict[str | None, list[ScanTarget]] = {}
        for target in unique:
            by_registry.setdefault(target.registry, []).append(target)
        batches = [
            group[start : start + _RESULTS_BATCH]
            for group in by_registry.values()
            for start in range(0, len(group), _RESULTS_BATCH)
        ]
        try:
            for batch in batches:
                page, full = self._results_page(batch, limit=_BATCH_PAGE, wait=0.0)
                found.update(page)
                crowded = [t for t in batch if t.key not in page] if full else []
                for target in crowded:  # their scans did not fit on the page: alone
                    alone, _full = self._results_page([target], limit=_RESULTS_PAGE, wait=0.0)
                    found.update(alone)
        except ConsoleError as exc:
            return ResultLookup(found, problem=str(exc))
        return ResultLookup(found)

    def _results_page(
        self, targets: Sequence[ScanTarget], *, limit: int, wait: float | None = None
    ) -> tuple[dict[str, ScanResult | None], bool]:
        """One ``GET /registry`` for the newest ``limit`` scans of ``targets``' repositories
        (all of one registry): each image's newest result on the page, and whether the page
        was full.  On a full page, an image of several without a match is left out (its
        scans may be on the next page); alone, it has none (None), as the console shows."""
        params: dict[str, str | tuple[str, ...]] = {
            "repository": tuple(dict.fromkeys(target.repo for target in targets)),
            "compact": "true",
            "limit": str(limit),
            "sort": "scanTime",
            "reverse": "true",
        }
        registry = targets[0].registry
        if registry is not None:
            params["registry"] = registry
        answer = self._request(
            "GET", "registry", params=params, limiter=self._registry_limiter, wait=wait
        )
        payload = decode_json(answer, "registry")
        parse_scan_results(payload)  # raises UnexpectedResponse unless a list (or null)
        items = payload if isinstance(payload, list) else []
        full = len(items) >= limit
        oldest = datetime.min.replace(tzinfo=UTC)
        found: dict[str, ScanResult | None] = {}
        for target in targets:
            results = parse_scan_results([item for item in items if matches_target(item, target)])
            newest = max(results, key=lambda result: result.scan_time or oldest, default=None)
            if newest is not None or not full or len(targets) == 1:
                found[target.key] = newest
        return found, full

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ConsoleClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- authentication and versions ---------------------------------------------------

    def _authenticate(self) -> str:
        """``POST /authenticate`` -> token (called by the token manager under its lock)."""
        path = f"/api/{self._api_version or 'v1'}/authenticate"
        answer = self._http.call("POST", path, json=self._credentials, authenticated=False)
        if answer.status == 401:
            raise AuthenticationFailed("the console rejected PRISMA_USER/PRISMA_PASSWORD")
        self._check(answer, path, "authenticate")
        payload = decode_json(answer, "authenticate")
        token = payload.get("token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise UnexpectedResponse("the console's answer to authenticate carries no token")
        self._redact.add_token(token)
        logger.debug("authenticated to the console at %s", self._http.host)
        return token

    def _fetch_version(self, api_version: str) -> str:
        answer = self._request("GET", "version", api_version=api_version)
        if answer.is_html():
            raise not_the_api("version")
        payload = answer.json_or_none()
        if payload is None and answer.body.strip() != b"null":
            payload = answer.text()  # not JSON: a plain-text version
        text = payload if isinstance(payload, str) else ""
        version = "".join(char for char in text if char.isprintable()).strip()[:40]
        if not version:
            raise UnexpectedResponse("the console's answer to version is not a version string")
        self._console_version = version
        return version

    # --- HTTP plumbing -------------------------------------------------------------------

    def _request(
        self,
        method: str,
        endpoint: str,
        *,
        api_version: str | None = None,
        params: Params | None = None,
        json: object = None,
        limiter: SlidingWindowLimiter | None = None,
        wait: float | None = None,
    ) -> Answer:
        """An authenticated call of ``/api/<version>/<endpoint>``; a 2xx answer or an error.

        ``limiter`` is waited for at most ``wait`` seconds (None: its own longest wait)."""
        with self._observed(endpoint):
            path = f"/api/{api_version or self.api_version}/{endpoint}"
            answer = self._http.call(
                method, path, params=params, json=json, limiter=limiter, limiter_wait=wait
            )
            self._check(answer, path, endpoint)
            return answer

    @contextlib.contextmanager
    def _observed(self, endpoint: str) -> Iterator[None]:
        """Tell the observer how the request for ``endpoint`` ended and how long it took."""
        if self._observer is None:
            yield
            return
        started = time.perf_counter()
        try:
            yield
        except HeldBack:
            raise  # nothing was sent: the console is not concerned
        except ConsoleError as exc:
            seconds = time.perf_counter() - started
            self._observer.request_done(endpoint, outcome_of(exc), seconds, detail=str(exc))
            raise
        self._observer.request_done(endpoint, "ok", time.perf_counter() - started)

    def _check(self, answer: Answer, path: str, endpoint: str) -> None:
        """Map a non-2xx status to its :class:`ConsoleError`."""
        status = answer.status
        if answer.ok:
            return
        text = error_detail(answer.text(), answer.json_or_none(), self._redact)
        error: ConsoleError
        if status == 400:
            error = RequestRejected(f"the console rejected {path}: {text}", text)
        elif status == 401:
            reason = "the console rejected PRISMA_USER/PRISMA_PASSWORD"
            if not self._basic:
                reason = f"the console refused a fresh token for {path}; check the user's access"
            error = AuthenticationFailed(reason)
        elif status == 403:
            error = PermissionDenied(f"the console user is not allowed to use {path} (HTTP 403)")
        elif status == 404:
            error = not_the_api(endpoint) if answer.is_html() else self._not_found(path, endpoint)
        elif status == 429:
            retry_after = retry_after_seconds(answer.headers.get("Retry-After"), self._clock())
            if retry_after:
                self._gate.block(retry_after, endpoint=path)
            error = RateLimited(f"the console is rate limiting {path} (HTTP 429)", retry_after)
        elif status >= 500:
            error = ConsoleUnavailable(f"the console answered HTTP {status} to {path}")
        elif 300 <= status < 400:
            error = UnexpectedResponse(
                f"the console redirected {path} (HTTP {status}); check PRISMA_CONSOLE_URL "
                "(https, port, tenant path)"
            )
        else:
            error = RequestRejected(f"the console refused {path} (HTTP {status}): {text}", text)
        raise error

    def _not_found(self, path: str, endpoint: str) -> ConsoleError:
        """404: a console too old for the endpoint, or an API version it does not serve."""
        since = _ENDPOINT_SINCE.get(endpoint)
        version = self._known_version() if since is not None else None
        parsed = version_tuple(version) if version is not None else None
        if since is not None and version is not None and parsed is not None and parsed < since:
            needed = f"{since[0]}.{since[1]:02d}"
            return ConsoleTooOld(
                f"the console is version {version}; scanbot needs {needed} or newer for {endpoint}",
                version,
                needed,
            )
        hint = None
        if not self._pinned:
            hint = "Check PRISMA_CONSOLE_URL (on SaaS it includes the tenant path)."
        return ApiVersionNotFound(
            f"the console does not serve {path} (HTTP 404): is the API version right?", hint=hint
        )

    def _known_version(self) -> str | None:
        """The console's version, asked over ``/api/v1/version`` if not known yet."""
        if self._console_version is None:
            try:
                self._fetch_version("v1")
            except ConsoleError as exc:
                logger.debug("console version unknown after a 404: %s", exc.detail)
        return self._console_version
