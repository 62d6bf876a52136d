"""How the console client reports each logical request, without knowing who listens.

:class:`ConsoleObserver` is the hook :class:`~bot.console.client.ConsoleClient` calls once a
request is done (metrics and readiness listen); :func:`outcome_of` names the outcome.
"""

from __future__ import annotations

import re
from typing import Protocol

from bot.console.errors import ConsoleError


class ConsoleObserver(Protocol):
    def request_done(
        self, endpoint: str, outcome: str, seconds: float, *, detail: str = ""
    ) -> None:
        """``endpoint`` e.g. ``registry/progress``; ``outcome`` ``ok`` or :func:`outcome_of`;
        ``detail`` the error's user-safe text (empty when ``ok``)."""
        ...


def outcome_of(error: ConsoleError | None) -> str:
    """``ok``, or the error class in snake case: ``authentication_failed``, ``rate_limited``."""
    if error is None:
        return "ok"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


class FanOut:
    """Several observers as one (metrics and readiness both listen to the console)."""

    def __init__(self, *observers: ConsoleObserver) -> None:
        self._observers = observers

    def request_done(
        self, endpoint: str, outcome: str, seconds: float, *, detail: str = ""
    ) -> None:
        for observer in self._observers:
            observer.request_done(endpoint, outcome, seconds, detail=detail)
