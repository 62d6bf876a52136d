"""Faults the simulated console can be told to answer with, consumed in order."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from bot.sandbox.console.http import error
from bot.sandbox.http import HttpResponse

#: ``5xx`` 503; ``401``; ``429`` with Retry-After; ``malformed`` cut-off JSON; ``html`` 200 with
#: a web page (a console URL pointing at the UI); ``delay`` answers late; ``reset`` drops the
#: connection unanswered.
FAULT_KINDS = frozenset({"5xx", "delay", "401", "429", "reset", "malformed", "html"})

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Prisma Cloud</title></head>"
    b'<body><div id="root">Loading...</div></body></html>'
)


@dataclass
class Fault:
    kind: str
    remaining: int
    path_contains: str | None
    delay_seconds: float
    retry_after: float

    def response(self) -> HttpResponse:
        """The answer of a "5xx", "401", "429", "html" or "malformed" fault."""
        if self.kind == "5xx":
            return error(503, "service unavailable (injected fault)")
        if self.kind == "401":
            return error(401, "token expired or invalid (injected fault)")
        if self.kind == "429":
            retry_after = ("Retry-After", f"{self.retry_after:g}")
            return error(429, "too many requests (injected fault)", retry_after)
        if self.kind == "html":
            return HttpResponse(200, HTML_PAGE, "text/html; charset=utf-8")
        return HttpResponse(200, b'[{"discovery": {"total": 1, "scann')


class FaultQueue:
    """Injected faults, consumed in order by the first request whose path matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; use one of {sorted(FAULT_KINDS)}")
        if fault.remaining < 1 or fault.delay_seconds < 0 or fault.retry_after < 0:
            raise ValueError("count must be >= 1, delay_seconds and retry_after >= 0")
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains is None or fault.path_contains in path:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None
