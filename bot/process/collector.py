"""When CPython's cyclic garbage collector may run: the two rules that keep it off the acks.

A full (generation 2) collection walks every tracked object and holds the interpreter
lock while it does; every ack in flight waits for it.  Measured in the bot with ``gc``'s
callbacks (docs/performance.md): 75 ms per full collection with the start-up heap, and
one every ~4 s with 10,000 open watches, because each poll cycle builds ~10,000 watches'
objects that live for the cycle, are promoted by the collections the cycle itself
triggers, and so swell the old generation until it is walked again.

* :func:`freeze_startup_heap`: once the process is listening, what start-up built (modules,
  the app, SQLAlchemy's and slack_sdk's objects) is moved out of the collector's sight; it
  lives as long as the process and never becomes garbage.
* :func:`paused`: no automatic collection while a poll cycle runs.  The cycle's objects
  are freed by reference counting when it ends; without collections during it they are
  never promoted, and the old generation stays small.  A cycle is bounded by the poll
  interval, so the cyclic garbage it may hold back is too.

The pause is cheap only if little cyclic garbage is made while it lasts, by any thread:
everything left in a reference cycle meanwhile is walked by the first collection after it,
with the lock held.  Console requests used to leave ~70 objects each in cycles (httpx's
response and stream, stamina's policy, refusals kept by tenacity): at a 2 s poll with
10,000 watches that made collections of 50,000+ objects and 100-544 ms pauses in the acks.
They leave none now; ``tests/console/test_garbage.py`` keeps it so.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def freeze_startup_heap() -> None:
    """Collect once, then freeze everything tracked now (see the module's docstring)."""
    gc.collect()
    gc.freeze()


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection until the block ends; the collector is enabled again after
    it if it was enabled before it.  Overlapping blocks (two runtimes in one process) can
    only shorten each other's pause, never leave the collector off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def without_collections(work: Callable[[], T]) -> Callable[[], T]:
    """``work`` run inside :func:`paused` (for the poll cycle's scheduler job)."""

    def run() -> T:
        with paused():
            return work()

    return run
