"""Counting what a piece of work leaves in reference cycles (for the garbage tests).

Whatever is left in a cycle is freed only by CPython's cyclic collector, and a collection
holds the interpreter lock while it walks it: every ack in flight waits."""

from __future__ import annotations

import gc
from collections.abc import Callable


def cyclic_garbage(work: Callable[[], object], times: int) -> int:
    """Objects the cyclic collector finds unreachable after ``times`` runs of ``work``
    (after one run to warm up: caches, pools, compiled statements)."""
    work()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(times):
            work()
        return gc.collect()
    finally:
        if was_enabled:
            gc.enable()
