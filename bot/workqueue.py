"""The bot's own bounded queue for the work that follows an ack.

Slack gives a listener 3 seconds to ack.  The ack happens on the HTTP server's small
pool; everything that can wait on the console, the database or Slack runs here instead,
on threads of our own, so a slow console or a rate-limited Slack never delays an ack.
The queue is bounded: when it is full, :meth:`WorkQueue.reserve` says so *before* the ack,
so the user is told to try again instead of waiting for work that will never start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.frontdoor import FrontDoor

log = logging.getLogger(__name__)


class Reservation:
    """A place in the queue, taken before the ack; :meth:`WorkQueue.submit` uses it."""

    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue
        self._used = False

    def submit(self, work: Callable[[], None], *, on_error: Callable[[Exception], None]) -> None:
        if self._used:
            raise RuntimeError("a reservation is used once")
        self._used = True
        self._queue._run(work, on_error)

    def cancel(self) -> None:
        """Give the place back unused (the ack failed); a no-op once submitted or cancelled."""
        if not self._used:
            self._used = True
            self._queue._release()


class WorkQueue:
    """At most ``capacity`` pieces of work waiting or running, on ``threads`` threads."""

    def __init__(self, *, threads: int, capacity: int, front_door: FrontDoor | None = None) -> None:
        self._front_door = front_door if front_door is not None else FrontDoor()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="scanbot-work")
        self._slots = threading.BoundedSemaphore(capacity)
        self._idle = threading.Condition()
        self._busy = 0

    def reserve(self) -> Reservation | None:
        """A place in the queue, or None when it is full (never waits)."""
        if not self._slots.acquire(blocking=False):
            return None
        with self._idle:
            self._busy += 1
        return Reservation(self)

    def _run(self, work: Callable[[], None], on_error: Callable[[Exception], None]) -> None:
        def task() -> None:
            try:
                with self._front_door.background():
                    work()
            except Exception as exc:  # noqa: BLE001 - the queue's one error handler
                on_error(exc)
            finally:
                self._release()

        self._pool.submit(task)

    def _release(self) -> None:
        self._slots.release()
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no work is queued or running (tests, shutdown); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)

    @property
    def busy(self) -> int:
        """Pieces of work reserved, queued or running."""
        with self._idle:
            return self._busy

    def close(self, timeout: float = 10.0) -> None:
        """Finish what was accepted (up to ``timeout``), then stop the threads."""
        if not self.wait_idle(timeout):
            log.warning("stopping with %d unfinished piece(s) of Slack work", self.busy)
        self._pool.shutdown(wait=False, cancel_futures=True)
