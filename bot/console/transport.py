"""One logical HTTP exchange with the console: pooled client, retries, bounded reading.

:class:`ConsoleHttp` owns the ``httpx.Client`` (``auth`` given by the caller) and builds
each request's absolute URL (console URL, path, query with the ``project`` when configured)
once, then reuses it: parsing URLs was a third of the client's work.  :meth:`call`
sends one request, retries transient failures (5xx, transport errors) with stamina,
refuses to send while a 429's ``Retry-After`` runs, and returns the bounded
:class:`~bot.console.answers.Answer` of any other status.  Status codes are judged by
:class:`~bot.console.client.ConsoleClient`.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx
import stamina

from bot import __version__
from bot.config.settings import Settings, SettingsError
from bot.console.answers import Answer, read_answer, transport_failure
from bot.console.errors import ConsoleUnavailable, UnexpectedResponse
from bot.console.http11 import Http11Transport
from bot.console.ratelimit import RetryAfterGate, SlidingWindowLimiter
from bot.console.redact import Redactor
from bot.domain.text import plural

logger = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
#: Attempts per logical request; tests change it with ``stamina.set_testing(...)``.
RETRY_ATTEMPTS = 3
RETRY_TIMEOUT = 20.0
#: How many request URLs are kept parsed (one per image followed, and a few endpoints).
_URL_CACHE_SIZE = 10_000
#: Query parameters: a tuple value is an array parameter (the name repeated per value).
Params = Mapping[str, str | tuple[str, ...]]


class _TransientStatusError(Exception):
    """A 5xx worth retrying; carries the answer for the final error message."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"HTTP {answer.status}")
        self.answer = answer


def _is_transient(exc: Exception) -> bool:
    return isinstance(exc, _TransientStatusError | httpx.TransportError)


class ConsoleHttp:
    """The pooled, thread-safe HTTP side of the console client."""

    def __init__(
        self,
        settings: Settings,
        *,
        auth: httpx.Auth,
        redact: Redactor,
        gate: RetryAfterGate,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        assert settings.prisma_console_url is not None
        parts = urlsplit(settings.prisma_console_url)
        #: ``host[:port]`` for log details only, never for user-facing messages.
        self.host = parts.netloc.rpartition("@")[2]  # never keep userinfo
        self._redact = redact
        self._gate = gate
        timeout = settings.prisma_timeout_seconds
        concurrency = settings.scanbot_console_concurrency
        self._base_url = f"{parts.scheme}://{self.host}{parts.path.rstrip('/')}"
        self._project = settings.prisma_project
        #: The URL of each (path, query) sent so far: parsing one costs more than the rest of
        #: the client's work, and a poll cycle asks for the same images every time.
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}
        #: One retry policy for every request, built once as ``stamina.retry`` builds its
        #: own: a new one per request is a reference cycle (10 objects) left to the cyclic
        #: collector.  Each iteration has its own state, so threads share it safely.
        self._retrying = stamina.retry_context(
            on=_is_transient,
            attempts=RETRY_ATTEMPTS,
            timeout=RETRY_TIMEOUT,
            wait_initial=0.2,
            wait_max=5.0,
            wait_jitter=0.2,
        )
        verify = _verify(settings)
        if transport is None:
            transport = Http11Transport(verify=verify, max_idle=concurrency + 1)
        self._http = httpx.Client(
            auth=auth,
            transport=transport,
            verify=verify,  # for proxies from the environment (httpx's own transports)
            timeout=httpx.Timeout(connect=5.0, read=timeout, write=timeout, pool=timeout),
            limits=httpx.Limits(
                max_connections=concurrency * 2 + 2,
                max_keepalive_connections=concurrency + 1,
                keepalive_expiry=30.0,
            ),
            follow_redirects=False,
            headers={"User-Agent": f"scanbot/{__version__}", "Accept": "application/json"},
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: object = None,
        limiter: SlidingWindowLimiter | None = None,
        limiter_wait: float | None = None,
        authenticated: bool = True,
    ) -> Answer:
        """One logical request: transient failures are retried with backoff and jitter.

        ``limiter`` (a console rate limit) is waited for, at most ``limiter_wait`` seconds
        when given (0: never), before each attempt."""
        attempts = 0
        try:
            for attempt in self._retrying:
                # Refusals (RateLimited) are raised outside the attempt: one raised inside
                # it is kept in tenacity's Future, a reference cycle only the cyclic
                # collector frees (docs/performance.md, "Where the time goes", garbage).
                self._gate.check(f"{method} {path}", endpoint=path)
                if limiter is not None:
                    limiter.acquire(max_wait=limiter_wait)
                with attempt:
                    attempts += 1
                    answer = self._send_once(method, path, params, json, authenticated)
                    if answer.status in TRANSIENT_STATUSES:
                        raise _TransientStatusError(answer)
                    return answer
        except _TransientStatusError as exc:
            message = f"the console answered HTTP {exc.answer.status} to {method} {path}"
            raise ConsoleUnavailable(
                f"{message} ({_tries(attempts)})", detail=f"{message} at {self.host}"
            ) from None
        except httpx.TransportError as exc:
            raise ConsoleUnavailable(
                f"the console could not be reached for {method} {path}: "
                f"{transport_failure(exc)} ({_tries(attempts)})",
                detail=f"{method} {self.host}{path}: {self._describe(exc)}",
            ) from None
        except httpx.HTTPError as exc:
            raise UnexpectedResponse(
                f"the console's answer to {method} {path} could not be read",
                detail=f"{method} {self.host}{path}: {self._describe(exc)}",
            ) from None
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    def close(self) -> None:
        self._http.close()

    def _send_once(
        self,
        method: str,
        path: str,
        params: Params | None,
        json: object,
        authenticated: bool,
    ) -> Answer:
        request = self._http.build_request(method, self._url(path, params), json=json)
        try:
            if authenticated:
                response = self._http.send(request, stream=True)
            else:
                response = self._http.send(request, auth=None, stream=True)
        except httpx.HTTPError as exc:
            logger.debug("%s %s -> %s", method, path, type(exc).__name__)
            raise
        answer = read_answer(response, path.partition("/api/")[2].partition("/")[2])
        logger.debug("%s %s -> %d in %.0f ms", method, path, answer.status, answer.elapsed_ms)
        return answer

    def _url(self, path: str, params: Params | None) -> httpx.URL:
        """The absolute URL of ``path`` with ``params`` (and the project), parsed once.

        A tuple value is an array parameter: the name is repeated once per value."""
        query = (
            tuple(
                (name, one)
                for name, value in params.items()
                for one in (value if isinstance(value, tuple) else (value,))
            )
            if params
            else ()
        )
        key = (path, query)
        url = self._urls.get(key)
        if url is None:
            if self._project:
                query = (*query, ("project", self._project))
            url = httpx.URL(self._base_url + path, params=query or None)
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()  # a bound, not an LRU: the next cycle fills it again
            self._urls[key] = url
        return url

    def _describe(self, exc: httpx.HTTPError) -> str:
        text = self._redact(str(exc)).strip()
        name = type(exc).__name__
        return f"{name}: {text[:200]}" if text else name


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


def _tries(attempts: int) -> str:
    return plural(attempts, "attempt")
