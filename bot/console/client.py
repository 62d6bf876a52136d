"""The Prisma Cloud Compute console client — the only module in scanbot that imports httpx.

One :class:`ConsoleClient` is shared by all threads.  It keeps one pooled ``httpx.Client``,
authenticates (Bearer JWT renewed before it expires, or HTTP Basic), resolves the API
version once, retries transient failures with backoff, and turns every failure into a
:class:`~bot.console.errors.ConsoleError`.  Passwords, tokens and ``Authorization``
headers never reach logs or exception messages.

``scan_result`` queries ``GET /registry?repository=<repo>[&registry=<registry>]`` (exact
repository names, unlike ``name=`` which is the UI's free-text filter), newest scans
first, and picks the entry whose tag/digest match; the console limits that endpoint to
30 requests per 30 s, so a :class:`SlidingWindowLimiter` keeps scanbot under it.
"""

from __future__ import annotations

import base64
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
import stamina

from bot import __version__
from bot.console.auth import TokenManager
from bot.console.errors import (
    ApiVersionNotFound,
    AuthenticationFailed,
    ConsoleError,
    ConsoleUnavailable,
    PermissionDenied,
    RateLimited,
    RequestRejected,
    UnexpectedResponse,
)
from bot.console.models import ProgressEntry, ScanResult, parse_progress, parse_scan_results
from bot.console.ratelimit import SlidingWindowLimiter
from bot.console.wire import (
    api_version_of,
    error_detail,
    matches_target,
    redact,
    retry_after_seconds,
)
from bot.images import ScanTarget
from bot.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
_REGISTRY_LIMIT = 30  # GET /registry: 30 requests ...
_REGISTRY_WINDOW = 30.0  # ... per 30 seconds (documented by the console)
_RESULTS_PAGE = 20  # newest scans of one repository looked at by scan_result


class _TransientStatusError(Exception):
    """A 5xx worth retrying; carries the response for the final error message."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _is_transient(exc: Exception) -> bool:
    return isinstance(exc, _TransientStatusError | httpx.TransportError)


def _progress_params(target: ScanTarget | None) -> dict[str, str]:
    """The only place that names an image for ``/registry/progress``: always with onDemand."""
    if target is None:
        return {}
    return {"onDemand": "true", **target.query_params()}


class ConsoleClient:
    """Thread-safe client of the console API endpoints scanbot uses."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        retry_attempts: int = 3,
        retry_timeout: float = 20.0,
        backoff_initial: float = 0.2,
    ) -> None:
        settings.require_console()
        assert settings.prisma_console_url is not None
        assert settings.prisma_user is not None
        assert settings.prisma_password is not None
        parts = urlsplit(settings.prisma_console_url)
        self._host = parts.netloc.rpartition("@")[2]  # never keep userinfo
        self._base = f"{parts.scheme}://{self._host}{parts.path}"
        self._user = settings.prisma_user
        self._password = settings.prisma_password.get_secret_value()
        self._project = settings.prisma_project
        self._clock = clock
        self._retry_attempts = max(1, retry_attempts)
        self._retry_timeout = retry_timeout
        self._backoff = max(0.0, backoff_initial)
        timeout = settings.prisma_timeout_seconds
        concurrency = settings.scanbot_console_concurrency
        self._http = httpx.Client(
            transport=transport,
            verify=_verify(settings),
            timeout=httpx.Timeout(connect=5.0, read=timeout, write=timeout, pool=timeout),
            limits=httpx.Limits(
                max_connections=concurrency * 2 + 2,
                max_keepalive_connections=concurrency + 1,
                keepalive_expiry=30.0,
            ),
            follow_redirects=False,
            headers={"User-Agent": f"scanbot/{__version__}", "Accept": "application/json"},
        )
        self._basic: str | None = None
        if settings.prisma_auth == "basic":
            raw = f"{self._user}:{self._password}".encode()
            self._basic = "Basic " + base64.b64encode(raw).decode("ascii")
        self._tokens = TokenManager(self._authenticate, clock)
        self._api_version = settings.prisma_api_version
        self._version_lock = threading.Lock()
        self._registry_limiter = SlidingWindowLimiter(
            _REGISTRY_LIMIT, _REGISTRY_WINDOW, max_wait=timeout, what="GET /registry"
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleClient:
        """The production client (real transport, wall clock, default retries)."""
        return cls(settings)

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
        response = self._send("GET", "/api/v1/_ping", params=None, json=None, headers={})
        if response.status_code == 401:  # consoles that want credentials even here
            self._request("GET", "v1", "_ping")
            return
        self._check(response, "/api/v1/_ping")

    def version(self) -> str:
        """The console's version string, e.g. ``34.04.145``."""
        return self._fetch_version(self.api_version)

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]:
        """Progress of the regular scan (no target) or of ``target``'s on-demand scan."""
        response = self._request(
            "GET", self.api_version, "registry/progress", params=_progress_params(target)
        )
        return parse_progress(_json(response, "registry/progress"))

    def trigger_scan(self, target: ScanTarget) -> None:
        """Start an on-demand scan of ``target``."""
        body = {"onDemandScan": True, "tag": target.image_tag()}
        self._request("POST", self.api_version, "registry/scan", json=body)

    def scan_result(self, target: ScanTarget) -> ScanResult | None:
        """The newest scan result of ``target``, or None when the console has none."""
        params = {
            "repository": target.repo,
            "compact": "false",
            "limit": str(_RESULTS_PAGE),
            "sort": "scanTime",
            "reverse": "true",
        }
        if target.registry is not None:
            params["registry"] = target.registry
        response = self._request(
            "GET", self.api_version, "registry", params=params, limiter=self._registry_limiter
        )
        payload = _json(response, "registry")
        parse_scan_results(payload)  # raises UnexpectedResponse unless a list (or null)
        items = payload if isinstance(payload, list) else []
        results = parse_scan_results([item for item in items if matches_target(item, target)])
        oldest = datetime.min.replace(tzinfo=UTC)
        return max(results, key=lambda result: result.scan_time or oldest, default=None)

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
        body = {"username": self._user, "password": self._password}
        response = self._send("POST", path, params=None, json=body, headers={})
        if response.status_code == 401:
            raise AuthenticationFailed("the console rejected PRISMA_USER/PRISMA_PASSWORD")
        self._check(response, path)
        payload = _json(response, "authenticate")
        token = payload.get("token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise UnexpectedResponse("the console's answer to authenticate carries no token")
        logger.debug("authenticated to the console at %s", self._host)
        return token

    def _fetch_version(self, api_version: str) -> str:
        response = self._request("GET", api_version, "version")
        try:
            payload: object = response.json()
        except (ValueError, RecursionError):
            payload = response.text
        if not isinstance(payload, str) or not payload.strip():
            raise UnexpectedResponse("the console's answer to version is not a version string")
        return payload.strip()

    # --- HTTP plumbing -------------------------------------------------------------------

    def _request(
        self,
        method: str,
        api_version: str,
        endpoint: str,
        *,
        params: dict[str, str] | None = None,
        json: object = None,
        limiter: SlidingWindowLimiter | None = None,
    ) -> httpx.Response:
        """An authenticated call; a 401 in token mode re-authenticates once and retries."""
        path = f"/api/{api_version}/{endpoint}"

        def send(authorization: str) -> httpx.Response:
            headers = {"Authorization": authorization}
            return self._send(
                method, path, params=params, json=json, headers=headers, limiter=limiter
            )

        if self._basic is not None:
            response = send(self._basic)
            if response.status_code == 401:
                raise AuthenticationFailed("the console rejected PRISMA_USER/PRISMA_PASSWORD")
        else:
            token = self._tokens.current()
            response = send(f"Bearer {token}")
            if response.status_code == 401:
                logger.info("the console refused the token for %s; authenticating again", path)
                token = self._tokens.renew_after_rejection(token)
                response = send(f"Bearer {token}")
                if response.status_code == 401:
                    raise AuthenticationFailed(
                        f"the console refused a fresh token for {path}; check the user's access"
                    )
        self._check(response, path)
        return response

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None,
        json: object,
        headers: dict[str, str],
        limiter: SlidingWindowLimiter | None = None,
    ) -> httpx.Response:
        """One logical request: transient failures are retried with backoff and jitter."""
        query = dict(params or {})
        if self._project is not None:
            query["project"] = self._project
        attempts = 0
        try:
            for attempt in self._retrying():
                with attempt:
                    attempts += 1
                    if limiter is not None:
                        limiter.acquire()
                    response = self._send_once(method, path, query, json, headers)
                    if response.status_code in _TRANSIENT_STATUSES:
                        raise _TransientStatusError(response)
                    return response
        except _TransientStatusError as exc:
            raise ConsoleUnavailable(
                f"the console at {self._host} answered HTTP {exc.response.status_code} "
                f"to {method} {path} ({_tries(attempts)})"
            ) from None
        except httpx.TransportError as exc:
            raise ConsoleUnavailable(
                f"the console at {self._host} could not be reached for {method} {path}: "
                f"{_describe(exc, self._password)} ({_tries(attempts)})"
            ) from exc
        except httpx.HTTPError as exc:
            raise UnexpectedResponse(
                f"the console's answer to {method} {path} could not be read: "
                f"{_describe(exc, self._password)}"
            ) from exc
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    def _retrying(self) -> Iterator[Any]:
        return iter(
            stamina.retry_context(
                on=_is_transient,
                attempts=self._retry_attempts,
                timeout=self._retry_timeout,
                wait_initial=self._backoff,
                wait_max=max(self._backoff, 5.0),
                wait_jitter=self._backoff,
            )
        )

    def _send_once(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        json: object,
        headers: dict[str, str],
    ) -> httpx.Response:
        started = time.monotonic()
        try:
            response = self._http.request(
                method, self._base + path, params=query, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            elapsed = (time.monotonic() - started) * 1000
            logger.debug("%s %s -> %s after %.0f ms", method, path, type(exc).__name__, elapsed)
            raise
        elapsed = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> %d in %.0f ms", method, path, response.status_code, elapsed)
        return response

    def _check(self, response: httpx.Response, path: str) -> None:
        """Map a non-2xx status to its :class:`ConsoleError`."""
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = self._redact(_detail(response, self._password))
        error: ConsoleError
        if status == 400:
            error = RequestRejected(f"the console rejected {path}: {detail}", detail=detail)
        elif status == 401:
            error = AuthenticationFailed("the console rejected PRISMA_USER/PRISMA_PASSWORD")
        elif status == 403:
            error = PermissionDenied(f"the console user is not allowed to use {path} (HTTP 403)")
        elif status == 404:
            error = ApiVersionNotFound(
                f"the console at {self._host} does not serve {path} (HTTP 404): "
                "is the API version right?"
            )
        elif status == 429:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), self._clock())
            error = RateLimited(f"the console is rate limiting {path} (HTTP 429)", retry_after)
        elif status >= 500:
            error = ConsoleUnavailable(f"the console at {self._host} answered HTTP {status}")
        elif 300 <= status < 400:
            error = UnexpectedResponse(
                f"the console redirected {path} (HTTP {status}); check PRISMA_CONSOLE_URL "
                "(https, port, tenant path)"
            )
        else:
            error = RequestRejected(
                f"the console refused {path} (HTTP {status}): {detail}", detail=detail
            )
        raise error

    def _redact(self, text: str) -> str:
        return redact(text, self._password)


# --- module helpers --------------------------------------------------------------------


def _verify(settings: Settings) -> ssl.SSLContext | bool:
    if not settings.prisma_verify_tls:
        logger.warning("TLS certificates of the console are not verified (PRISMA_VERIFY_TLS)")
        return False
    if settings.prisma_ca_bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(settings.prisma_ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SettingsError(
            f"PRISMA_CA_BUNDLE: cannot load {settings.prisma_ca_bundle}: {reason}"
        ) from None


def _json(response: httpx.Response, endpoint: str) -> object:
    try:
        payload: object = response.json()
    except (ValueError, RecursionError):  # bad JSON, bad encoding, absurd nesting
        raise UnexpectedResponse(f"the console's answer to {endpoint} is not JSON") from None
    return payload


def _detail(response: httpx.Response, secret: str) -> str:
    try:
        payload: object = response.json()
    except (ValueError, RecursionError):
        payload = None
    return error_detail(response.text, payload, secret)


def _describe(exc: httpx.HTTPError, secret: str) -> str:
    text = redact(str(exc), secret).strip()
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name


def _tries(attempts: int) -> str:
    return "1 attempt" if attempts == 1 else f"{attempts} attempts"
