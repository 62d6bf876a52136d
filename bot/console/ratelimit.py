"""A thread-safe sliding-window limiter that keeps scanbot under a console rate limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from bot.console.errors import HeldBack, RateLimited
from bot.domain.text import plural


class SlidingWindowLimiter:
    """Allow at most ``limit`` calls of :meth:`acquire` in any ``window`` seconds.

    A caller over the limit sleeps until the oldest call leaves the window, when that is
    at most ``max_wait`` seconds away; otherwise :class:`HeldBack` is raised at once
    with ``retry_after`` set, so no thread blocks for long.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_wait: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        what: str = "the console",
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self._limit = limit
        self._window = window
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._what = what
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()

    def acquire(self, *, max_wait: float | None = None) -> None:
        """Record one call, waiting for a free slot (or raising :class:`HeldBack`).

        ``max_wait`` overrides the limiter's own longest wait for this call (0: never wait).
        """
        longest = self._max_wait if max_wait is None else max_wait
        while True:
            with self._lock:
                now = self._clock()
                while self._calls and self._calls[0] <= now - self._window:
                    self._calls.popleft()
                if len(self._calls) < self._limit:
                    self._calls.append(now)
                    return
                wait = self._calls[0] + self._window - now
            if wait > longest:
                raise HeldBack(
                    f"scanbot holds back: {self._what} allows "
                    f"{plural(self._limit, 'request')} per {self._window:g} s",
                    retry_after=wait,
                )
            self._sleep(wait)


#: The longest wait a console's ``Retry-After`` can impose; larger values are cut to this,
#: so a hostile or broken console cannot silence scanbot until it is restarted.
MAX_RETRY_AFTER = 900.0


class RetryAfterGate:
    """Remembers, on a monotonic clock, until when a console asked not to be called (429).

    Per endpoint: the console limits its endpoints separately (``GET /registry`` to 30
    requests in 30 s), so a 429 from one never stops the others — a burst of result lookups
    must not stop progress polling.  :meth:`block` is called with the ``Retry-After`` of a
    429; until that time has passed, :meth:`check` of the same endpoint raises
    :class:`RateLimited` at once, so no request is sent.  Thread-safe.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def block(self, seconds: float, *, endpoint: str = "") -> None:
        """Refuse ``endpoint`` for ``seconds`` (at most :data:`MAX_RETRY_AFTER`) from now."""
        until = self._clock() + min(max(seconds, 0.0), MAX_RETRY_AFTER)
        with self._lock:
            self._until[endpoint] = max(self._until.get(endpoint, float("-inf")), until)

    def check(self, what: str, *, endpoint: str = "") -> None:
        """Raise :class:`RateLimited` while that endpoint's ``Retry-After`` has not passed."""
        with self._lock:
            remaining = self._until.get(endpoint, float("-inf")) - self._clock()
        if remaining > 0:
            raise RateLimited(
                f"the console asked scanbot to slow down (HTTP 429); {what} waits "
                f"{remaining:.0f} s more before it is sent again",
                retry_after=remaining,
            )
