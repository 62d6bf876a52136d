"""Faults the Slack stand-in can be told to answer a Web API method with, in queue order."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus

from bot.sandbox.http import HttpResponse


class FaultKind(Enum):
    ERROR = "error"  # HTTP 200 {"ok": false, "error": ...}, nothing done
    RATE_LIMITED = "ratelimited"  # HTTP 429 with Retry-After, nothing done
    HTTP_STATUS = "http"  # HTTP status (5xx) with a text body, nothing done
    STALL = "stall"  # the call is carried out, the answer comes after ``seconds``
    ACCEPTED_THEN_FAIL = "accepted"  # the call is carried out, then HTTP status (500)
    RESET = "reset"  # the connection is dropped unanswered, nothing done


@dataclass(slots=True)
class SlackFault:
    kind: FaultKind
    remaining: int
    error: str = ""
    status: int = 200
    retry_after: int = 0
    seconds: float = 0.0

    def answer(self) -> HttpResponse | None:
        """What the client receives instead of the method's answer (``None``: a reset)."""
        if self.kind is FaultKind.RESET:
            return None
        if self.kind is FaultKind.ERROR:
            return json_answer({"ok": False, "error": self.error})
        if self.kind is FaultKind.RATE_LIMITED:
            body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
            headers = (("Retry-After", str(self.retry_after)),)
            return HttpResponse(429, body, "application/json; charset=utf-8", headers)
        text = HTTPStatus(self.status).phrase.encode()
        return HttpResponse(self.status, text, "text/plain")

    @property
    def carries_out(self) -> bool:
        """Whether the method still takes effect (the client just cannot tell)."""
        return self.kind in (FaultKind.STALL, FaultKind.ACCEPTED_THEN_FAIL)


def json_answer(payload: dict[str, object], status: int = 200) -> HttpResponse:
    return HttpResponse(status, json.dumps(payload).encode(), "application/json; charset=utf-8")


class FaultQueues:
    """One queue of faults per method; each call uses up one fault of its method's queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[SlackFault]] = {}

    def add(self, method: str, fault: SlackFault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        if fault.seconds < 0 or fault.retry_after < 0:
            raise ValueError("seconds and retry_after must be >= 0")
        with self._lock:
            self._queues.setdefault(method, deque()).append(fault)

    def take(self, method: str) -> SlackFault | None:
        with self._lock:
            queue = self._queues.get(method)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                queue.popleft()
            return fault

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
