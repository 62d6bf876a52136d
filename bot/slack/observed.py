"""Slack calls and acks, measured and budgeted: a WebClient that takes each call from the
bot's budget of Slack's rate limits and reports it, a 429 counter, ack timing.

Only :class:`SlackObserver`'s few methods are called (:class:`bot.process.metrics.Metrics` has
them), so nothing here imports prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from slack_bolt import Ack, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.delivery.budget import SlackBudget


class SlackObserver(Protocol):
    def slack_call(self, method: str, outcome: str, seconds: float) -> None: ...

    def slack_429(self, method: str) -> None: ...

    def command_acked(self, seconds: float) -> None: ...


class BudgetedWebClient(WebClient):
    """A WebClient whose every Web API call waits for its place in ``budget`` first.

    Every direct use of the client — the notifier's posts, edits and lookups, the digest,
    a ``views.publish`` — is so held inside Slack's limits.  A call the sender already took
    from the budget runs under ``budget.paid(...)`` and is not charged twice.  Waiting
    longer than ``budget_timeout`` raises :class:`bot.delivery.budget.BudgetExhaustedError`.
    """

    def __init__(
        self,
        *args: Any,
        budget: SlackBudget | None = None,
        budget_timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget
        self._budget_timeout = budget_timeout

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        if self.budget is not None:
            channel = _channel_of(kwargs)
            self.budget.acquire(api_method, channel=channel, timeout=self._budget_timeout)
        return super().api_call(api_method, **kwargs)


def _channel_of(kwargs: dict[str, Any]) -> str | None:
    """The ``channel`` argument of a Web API call, wherever slack_sdk put it."""
    for part in ("json", "data", "params"):
        values = kwargs.get(part)
        if isinstance(values, dict) and isinstance(values.get("channel"), str):
            return str(values["channel"])
    return None


class ObservedWebClient(BudgetedWebClient):
    """A WebClient telling ``observer`` each Web API call's method, outcome and latency.

    The outcome is ``ok``, Slack's error code (``channel_not_found``), ``ratelimited``
    for a final 429, or ``unreachable``.
    """

    def __init__(self, *args: Any, observer: SlackObserver, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._observer = observer

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            outcome = _error_code(exc)
            if exc.response.status_code == 429:
                self._observer.slack_429(api_method)  # the last one: no retry left
            raise
        except SlackClientError:
            outcome = "unreachable"
            raise
        finally:
            self._observer.slack_call(api_method, outcome, time.perf_counter() - started)


def _error_code(exc: SlackApiError) -> str:
    if exc.response.status_code == 429:
        return "ratelimited"
    data = exc.response.data
    error = data.get("error") if isinstance(data, dict) else None
    return str(error) if error else f"http_{exc.response.status_code}"


class CountingRateLimitHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 retry handler (honours Retry-After) that also counts each 429."""

    def __init__(self, observer: SlackObserver, *, max_retry_count: int = 3) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._observer = observer

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        retry = super()._can_retry(state=state, request=request, response=response, error=error)
        if retry:
            self._observer.slack_429(request.url.rstrip("/").rpartition("/")[2])
        return retry


def ack_timer(
    observer: SlackObserver,
) -> Callable[[BoltRequest, BoltResponse, Callable[[], BoltResponse]], BoltResponse]:
    """A bolt middleware: slash commands' ``ack`` reports how long after arrival it came."""

    def middleware(
        req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        if isinstance(req.body, dict) and req.body.get("command"):
            req.context["ack"] = _TimedAck(observer, time.perf_counter())
        return next()

    return middleware


class _TimedAck(Ack):
    def __init__(self, observer: SlackObserver, started: float) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._observer = observer
        self._started = started

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._observer.command_acked(time.perf_counter() - self._started)
