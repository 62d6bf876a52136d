"""The bot's own bounded queue for the work that follows an ack.

Slack gives a listener 3 seconds to ack.  The ack happens on the HTTP server's small
pool; everything that can wait on the console, the database or Slack runs here instead,
on threads of our own, so a slow console or a rate-limited Slack never delays an ack.
The queue is bounded: when it is full, :meth:`WorkQueue.reserve` says so *before* the ack,
so the user is told to try again instead of waiting for work that will never start.

Stopping (:meth:`WorkQueue.close`) finishes the work already accepted, for a bounded
time.  What is still queued then never runs: each such piece's ``on_dropped`` tells its
user to ask again (best effort, for a bounded time).  A piece still running then is
abandoned on its thread (a daemon thread, so a piece stuck on a hanging console or a
``Retry-After`` cannot keep the process from exiting) and its ``on_interrupted`` tells its
user that the answer may not come (best effort, in the same bounded time); its failure
once the console and the database are closed is logged in one line, and its user is not
told of an internal error that is only the restart.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from bot.process.daemonpool import DaemonPool
from bot.process.frontdoor import FrontDoor

log = logging.getLogger(__name__)

#: How long, at most, :meth:`WorkQueue.close` spends telling users their request was dropped.
NOTICE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class _Piece:
    work: Callable[[], None]
    on_error: Callable[[Exception], None]
    on_dropped: Callable[[], None] | None
    on_interrupted: Callable[[], None] | None = None


class Reservation:
    """A place in the queue, taken before the ack; :meth:`submit` uses it."""

    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue
        self._used = False

    def submit(
        self,
        work: Callable[[], None],
        *,
        on_error: Callable[[Exception], None],
        on_dropped: Callable[[], None] | None = None,
        on_interrupted: Callable[[], None] | None = None,
    ) -> None:
        """Queue ``work``.  ``on_error`` gets what it raises; ``on_dropped`` runs instead of
        it if the bot stops before ``work`` started (to tell the user to ask again);
        ``on_interrupted`` if the bot stops while ``work`` still runs."""
        if self._used:
            raise RuntimeError("a reservation is used once")
        self._used = True
        self._queue._queue(_Piece(work, on_error, on_dropped, on_interrupted))

    def cancel(self) -> None:
        """Give the place back unused (the ack failed); a no-op once submitted or cancelled."""
        if not self._used:
            self._used = True
            self._queue._release()


class WorkQueue:
    """At most ``capacity`` pieces of work waiting or running, on ``threads`` threads."""

    def __init__(self, *, threads: int, capacity: int, front_door: FrontDoor | None = None) -> None:
        if threads < 1 or capacity < 1:
            raise ValueError("threads and capacity must be at least 1")
        self._front_door = front_door if front_door is not None else FrontDoor()
        self._pool = DaemonPool(workers=threads, name="scanbot-work")
        self._slots = threading.BoundedSemaphore(capacity)
        self._capacity = capacity
        self._changed = threading.Condition()
        self._busy = 0  # reserved, queued or running
        self._progress_at = time.monotonic()  # a piece last finished, or the queue went busy
        self._dropped: list[_Piece] = []  # queued when the stop came: they never ran
        self._running: dict[int, _Piece] = {}  # by id(): running now
        self._closing = False  # no new reservations
        self._stopped = False  # queued work is dropped, running work abandoned

    def reserve(self) -> Reservation | None:
        """A place in the queue, or None when it is full or stopping (never waits)."""
        if self._closing or not self._slots.acquire(blocking=False):
            return None
        with self._changed:
            if self._busy == 0:
                self._progress_at = time.monotonic()
            self._busy += 1
        return Reservation(self)

    def _queue(self, piece: _Piece) -> None:
        # The piece runs in the context it was submitted from: its log fields follow it.
        context = contextvars.copy_context()
        try:
            future = self._pool.submit(context.run, self._run, piece)
        except RuntimeError:  # submitted after the stop: it never runs
            self._release()
            _tell_dropped([piece], deadline=time.monotonic() + NOTICE_SECONDS)
            return

        def cancelled_by_the_stop(done: Future[None]) -> None:
            if done.cancelled():
                with self._changed:
                    self._dropped.append(piece)
                self._release()

        future.add_done_callback(cancelled_by_the_stop)

    def _run(self, piece: _Piece) -> None:
        with self._changed:
            self._running[id(piece)] = piece
        try:
            with self._front_door.background():
                piece.work()
        except Exception as exc:  # noqa: BLE001 - the queue's one error handler
            if self._stopped:  # the console and the database were closed under it
                log.warning("abandoned Slack work failed after the stop: %s", _one_line(exc))
            else:
                self._report(piece, exc)
        finally:
            with self._changed:
                self._running.pop(id(piece), None)
            self._release()

    @staticmethod
    def _report(piece: _Piece, error: Exception) -> None:
        try:
            piece.on_error(error)
        except Exception:  # the handler itself failed: the worker thread must live on
            log.exception("the error handler of a piece of Slack work failed")

    def _release(self) -> None:
        self._slots.release()
        with self._changed:
            self._busy -= 1
            self._progress_at = time.monotonic()
            self._changed.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no work is queued or running (tests, shutdown); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout=timeout)

    @property
    def busy(self) -> int:
        """Pieces of work reserved, queued or running."""
        with self._changed:
            return self._busy

    @property
    def full(self) -> bool:
        """No place left: a request now would be told to try again (readiness)."""
        with self._changed:
            return self._busy >= self._capacity

    def wedged_seconds(self) -> float:
        """How long the queue has been full without a piece finishing (0 when not full):
        the threads that run Slack work are stuck (liveness)."""
        with self._changed:
            if self._busy < self._capacity:
                return 0.0
            return max(0.0, time.monotonic() - self._progress_at)

    def close(self, timeout: float = 10.0) -> None:
        """Take no new work; finish what was accepted for up to ``timeout`` seconds; then
        drop what has not started (its users are told) and abandon what still runs."""
        self._closing = True
        finished = self.wait_idle(timeout)
        self._stopped = True
        self._pool.shutdown(wait=False, cancel_futures=not finished)
        if finished:
            return
        with self._changed:
            dropped, self._dropped = self._dropped, []
            running = self._busy
            interrupted = list(self._running.values())
        log.warning(
            "stopping: %d piece(s) of Slack work still running are abandoned, %d queued "
            "one(s) dropped (their users are asked to try again)",
            running,
            len(dropped),
        )
        notices = [p.on_dropped for p in dropped] + [p.on_interrupted for p in interrupted]
        told = _tell(notices, deadline=time.monotonic() + NOTICE_SECONDS)
        if told < len(notices):
            log.warning("%d user(s) could not be told in time", len(notices) - told)


def _tell_dropped(pieces: list[_Piece], *, deadline: float) -> int:
    """Run each piece's ``on_dropped`` on a daemon thread until ``deadline``; how many ran."""
    return _tell([piece.on_dropped for piece in pieces], deadline=deadline)


def _tell(callbacks: list[Callable[[], None] | None], *, deadline: float) -> int:
    """Run each callback on a daemon thread until ``deadline``; how many ran (or had none)."""
    notices = [notice for notice in callbacks if notice is not None]
    if not notices:
        return len(callbacks)
    done = [0]

    def tell() -> None:
        for notice in notices:
            if time.monotonic() >= deadline:
                return
            try:
                notice()
            except Exception as exc:  # noqa: BLE001 - best effort: the bot is stopping
                log.warning("could not tell a user about the stop: %s", _one_line(exc))
            done[0] += 1

    teller = threading.Thread(target=tell, name="scanbot-work-notices", daemon=True)
    teller.start()
    teller.join(max(0.0, deadline - time.monotonic()))
    return len(callbacks) - len(notices) + done[0]


def _one_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
