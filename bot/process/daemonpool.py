"""A thread pool whose threads never hold up the process's exit.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits, so
one console request hanging for its whole timeout (and retries) kept a stopping scanbot
alive for 18 s, past Docker's 10 s before SIGKILL.  :class:`DaemonPool` is the same
executor on daemon threads: work still running when the process exits is abandoned.  Use
it only for work whose effects are durable elsewhere or worthless when unfinished (a
console request: the next process asks again).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_Item = tuple[Future[object], Callable[[], object]]


class DaemonPool(Executor):
    """``workers`` daemon threads, started by the first submits (thread-safe)."""

    def __init__(self, *, workers: int, name: str) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._workers = workers
        self._name = name
        self._items: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._shut = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._shut:
                raise RuntimeError("cannot schedule new work after shutdown")
            self._items.put((future, lambda: fn(*args, **kwargs)))  # type: ignore[arg-type]
            if len(self._threads) < self._workers:  # each of the first submits adds one
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads) + 1}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            item = self._items.get()
            if item is None:
                return
            future, call = item
            if future.set_running_or_notify_cancel():
                try:
                    result = call()
                except BaseException as exc:  # noqa: BLE001 - handed to the future's owner
                    future.set_exception(exc)
                else:
                    future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new work; ``cancel_futures`` cancels what has not started; ``wait`` joins the
        threads (without it, work still running is left to finish or be abandoned)."""
        with self._lock:
            if self._shut:
                threads: list[threading.Thread] = []
            else:
                self._shut = True
                threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    item = self._items.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in threads:
            self._items.put(None)
        if wait:
            for thread in threads:
                thread.join()
