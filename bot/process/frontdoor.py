"""Acks first: background work runs one piece at a time while Slack requests are answered.

Slack gives a request 3 seconds and users feel every tenth of one; the work after an ack
(console requests, database writes, ``chat.postMessage``), the sender and the poll cycle
have no such deadline.  In one CPython process all of them take turns on one interpreter
lock, and a thread that wakes to answer a request waits for it behind every runnable
background thread, once per hand-over (waitress hands each request from its I/O thread to
a worker and back).  A burst of follows is where that shows: every follow acked adds a
piece of work that competes with the next follow's ack, eight at once on the work queue.

:class:`FrontDoor` counts the Slack requests being answered.  Background work runs inside
:meth:`FrontDoor.background`: while the door is quiet, pieces run as concurrently as their
pools allow; while a request is in flight, or one was answered less than ``linger``
seconds ago, a new piece starts only when no other runs, or when the last piece started
``patience`` seconds ago or more (a piece that long is waiting on the console or Slack,
not holding the interpreter).  So a burst of acks competes with one background thread at
a time, and background work is never starved.  Measured in ``docs/performance.md``
(follow acks at concurrency 20).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Seconds after the last answered request during which the door still counts as busy
#: (requests of a burst arrive a few milliseconds apart; between two of them the door is
#: briefly empty and every waiting piece would start at once).
DEFAULT_LINGER = 0.2
#: While the door is busy, another piece may start beside a running one this long after
#: the last start: a piece is mostly waiting on I/O by then (CPU per piece: ~10 ms).
DEFAULT_PATIENCE = 0.5


class FrontDoor:
    """Requests in flight, and background work that gives way to them (thread-safe)."""

    def __init__(
        self,
        *,
        linger: float = DEFAULT_LINGER,
        patience: float = DEFAULT_PATIENCE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if linger < 0 or patience <= 0:
            raise ValueError("linger must not be negative and patience must be positive")
        self.linger = linger
        self.patience = patience
        self._clock = clock
        self._changed = threading.Condition()
        self._in_flight = 0
        self._running = 0  # background pieces running now
        self._last_answer: float | None = None
        self._last_start: float | None = None
        self._mine = threading.local()  # this thread's depth of nested background pieces

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def running(self) -> int:
        return self._running

    def busy(self) -> bool:
        """A request is in flight, or one was answered less than ``linger`` seconds ago."""
        if self._in_flight > 0:
            return True
        return self._last_answer is not None and self._clock() - self._last_answer < self.linger

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Count one request while the block runs."""
        with self._changed:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._last_answer = self._clock()

    @contextmanager
    def background(self) -> Iterator[None]:
        """Run one piece of background work (see the module's docstring).  A piece started
        inside another one on the same thread runs at once (it is part of that piece)."""
        depth = getattr(self._mine, "depth", 0)
        if depth == 0:
            self._enter()
        self._mine.depth = depth + 1
        try:
            yield
        finally:
            self._mine.depth = depth
            if depth == 0:
                self._leave()

    @contextmanager
    def outside(self) -> Iterator[None]:
        """Step out of this thread's piece while it only waits for other pieces (the poll
        cycle waiting for its console requests), so that they can run; back in after."""
        depth = getattr(self._mine, "depth", 0)
        if depth == 0:
            yield
            return
        self._leave()
        self._mine.depth = 0
        try:
            yield
        finally:
            self._enter()
            self._mine.depth = depth

    def _enter(self) -> None:
        with self._changed:
            while (wait := self._wait_before_start()) > 0:
                self._changed.wait(wait)  # also woken when a piece ends
            self._running += 1
            self._last_start = self._clock()

    def _leave(self) -> None:
        with self._changed:
            self._running -= 1
            self._changed.notify()

    def _wait_before_start(self) -> float:
        """0 when a piece may start now, else how long until it is worth looking again."""
        if self._running == 0 or not self.busy():
            return 0.0
        since_start = self._clock() - (self._last_start or 0.0)
        if since_start >= self.patience:
            return 0.0
        return max(0.005, min(self.linger, self.patience - since_start))

    def behind(self, work: Callable[[], object]) -> Callable[[], None]:
        """``work`` as a background piece (for scheduler jobs)."""

        def piece() -> None:
            with self.background():
                work()

        return piece

    def wrap(self, app: WSGIApplication) -> WSGIApplication:
        """``app`` with each request counted until its answer is returned (scanbot's
        apps build the whole body before returning it)."""

        def counted(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            with self.serving():
                return app(environ, start_response)

        return counted
