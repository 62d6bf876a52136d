"""scanbot's Prometheus metrics, in a registry of their own (never the global one).

The runtime builds one :class:`Metrics` and passes it down; ``GET /metrics`` serves
:meth:`Metrics.exposition`.  Counters and histograms move as work happens (the console
client, the Slack client, the poll cycle, slash-command acks, completion messages);
gauges are read when Prometheus scrapes, through :meth:`Metrics.watch_state`.  Gauges of
shared state (the database's: open watches, subscriptions, the outbox backlog, the last
regular scan completion) are exported only by the replica holding the poll lease, so they
are counted once across replicas; the others describe the process that exports them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from stamina.instrumentation import (
    LoggingOnRetryHook,
    RetryDetails,
    get_on_retry_hooks,
    set_on_retry_hooks,
)

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


@dataclass(frozen=True, slots=True)
class StateSample:
    """State read at scrape time; None where it could not be read or is not this
    replica's to export.

    The first five are *shared* state (the database's): only the replica holding the poll
    lease exports them, so a ``sum`` over replicas counts each once.  The rest are this
    process's own.
    """

    open_watches: int | None = None
    subscriptions: int | None = None
    outbox_pending: int | None = None
    outbox_oldest_seconds: float | None = None
    last_regular_completion_timestamp: float | None = None
    last_success_age_seconds: float | None = None
    last_poll_timestamp: float | None = None
    poll_lease_held: bool | None = None
    slack_token_refused: bool | None = None


def label(value: str, *, limit: int = 60) -> str:
    """A bounded, tame label value (Slack error codes and method names are short words)."""
    return re.sub(r"[^A-Za-z0-9_./-]", "_", value)[:limit] or "unknown"


class Metrics:
    """Every metric scanbot exports.  Thread-safe (prometheus_client's types are)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.console_requests = Counter(
            "scanbot_console_requests",
            "Console API requests by endpoint and outcome (ok or the error kind).",
            ("endpoint", "outcome"),
            registry=r,
        )
        self.console_seconds = Histogram(
            "scanbot_console_request_seconds",
            "Latency of console API requests, retries included.",
            ("endpoint",),
            buckets=_FAST,
            registry=r,
        )
        self.retries = Counter(
            "scanbot_retries",
            "Retries scheduled by stamina, by callable and error type.",
            ("callable", "error_type"),
            registry=r,
        )
        self.slack_calls = Counter(
            "scanbot_slack_calls",
            "Slack Web API calls by method and outcome (ok or Slack's error code).",
            ("method", "outcome"),
            registry=r,
        )
        self.slack_seconds = Histogram(
            "scanbot_slack_call_seconds",
            "Latency of Slack Web API calls, retries included.",
            ("method",),
            buckets=_FAST,
            registry=r,
        )
        self.slack_rate_limited = Counter(
            "scanbot_slack_rate_limited",
            "HTTP 429 answers from Slack, by method.",
            ("method",),
            registry=r,
        )
        self.console_errors = Counter(
            "scanbot_console_errors",
            "Console API requests that failed, by endpoint and error kind.",
            ("endpoint", "kind"),
            registry=r,
        )
        self.poll_cycles = Counter(
            "scanbot_poll_cycles", "Poll cycles by outcome.", ("outcome",), registry=r
        )
        self.poll_seconds = Histogram(
            "scanbot_poll_cycle_seconds", "Duration of poll cycles.", buckets=_SLOW, registry=r
        )
        self.ack_seconds = Histogram(
            "scanbot_command_ack_seconds",
            "Time from a slash command reaching the bot's listeners to its ack.",
            buckets=_FAST,
            registry=r,
        )
        self.completion_seconds = Histogram(
            "scanbot_completion_message_delay_seconds",
            "Time from a scan's completion being seen to its completion message in Slack.",
            buckets=_SLOW,
            registry=r,
        )
        self._state_source: Callable[[], StateSample] | None = None
        self._state_lock = threading.Lock()
        r.register(_StateCollector(self._sample))

    # --- hooks the rest of the bot calls ---------------------------------------------

    def request_done(
        self, endpoint: str, outcome: str, seconds: float, *, detail: str = ""
    ) -> None:
        """:class:`~bot.console.observer.ConsoleObserver`."""
        self.console_requests.labels(label(endpoint), label(outcome)).inc()
        self.console_seconds.labels(label(endpoint)).observe(seconds)
        if outcome != "ok":
            self.console_errors.labels(label(endpoint), label(outcome)).inc()

    def slack_call(self, method: str, outcome: str, seconds: float) -> None:
        self.slack_calls.labels(label(method), label(outcome)).inc()
        self.slack_seconds.labels(label(method)).observe(seconds)

    def slack_429(self, method: str) -> None:
        self.slack_rate_limited.labels(label(method)).inc()

    def cycle_done(self, seconds: float, ok: bool) -> None:
        self.poll_cycles.labels("ok" if ok else "error").inc()
        self.poll_seconds.observe(seconds)

    def command_acked(self, seconds: float) -> None:
        self.ack_seconds.observe(seconds)

    def completion_delivered(self, seconds: float) -> None:
        """The sender calls this when a scan's final reply was accepted by Slack."""
        self.completion_seconds.observe(max(0.0, seconds))

    def on_retry(self, details: RetryDetails) -> None:
        """A stamina on-retry hook counting into this registry."""
        error = type(details.caused_by)
        self.retries.labels(label(details.name, limit=100), label(error.__name__)).inc()

    def install_retry_hook(self) -> Callable[[], None]:
        """Make stamina count retries here (and still log them); returns the undo.

        stamina's own ``PrometheusOnRetryHook`` always uses the global registry, so this
        registers :meth:`on_retry` instead.  stamina's hooks are process-wide.
        """
        previous = get_on_retry_hooks()
        set_on_retry_hooks([LoggingOnRetryHook, self.on_retry])
        return lambda: set_on_retry_hooks(previous)

    def watch_state(self, source: Callable[[], StateSample]) -> None:
        """Read gauges from ``source`` at every scrape (the runtime passes the store's view)."""
        with self._state_lock:
            self._state_source = source

    # --- exposition ------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric (``GET /metrics``)."""
        return generate_latest(self.registry)

    def _sample(self) -> StateSample:
        with self._state_lock:
            source = self._state_source
        return source() if source is not None else StateSample()


class _StateCollector(Collector):
    """Gauges computed at scrape time."""

    def __init__(self, sample: Callable[[], StateSample]) -> None:
        self._sample = sample

    def describe(self) -> Iterable[Metric]:
        return []  # unknown until sampled: the registry then calls collect() only at scrapes

    def collect(self) -> Iterator[Metric]:
        sample = self._sample()
        gauges = (
            ("scanbot_open_watches", "Open watches (all channels).", sample.open_watches),
            ("scanbot_subscriptions", "Channel subscriptions.", sample.subscriptions),
            (
                "scanbot_outbox_pending",
                "Messages owed to Slack, not sent yet (the outbox backlog).",
                sample.outbox_pending,
            ),
            (
                "scanbot_outbox_oldest_pending_seconds",
                "Age of the oldest message owed to Slack and not delivered yet.",
                sample.outbox_oldest_seconds,
            ),
            (
                "scanbot_last_regular_scan_completion_timestamp_seconds",
                "Unix time the latest regular scan followed by a subscribed channel completed.",
                sample.last_regular_completion_timestamp,
            ),
            (
                "scanbot_last_successful_poll_age_seconds",
                "Seconds since this process's last successful poll cycle.",
                sample.last_success_age_seconds,
            ),
            (
                "scanbot_last_successful_poll_timestamp_seconds",
                "Unix time this process last held the poll lease and completed a poll cycle.",
                sample.last_poll_timestamp,
            ),
            (
                "scanbot_poll_lease_held",
                "1 while this process holds the poll lease (it exports the shared gauges).",
                _flag(sample.poll_lease_held),
            ),
            (
                "scanbot_slack_token_refused",
                "1 while Slack refuses this process's bot token, else 0.",
                _flag(sample.slack_token_refused),
            ),
        )
        for name, documentation, value in gauges:
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)
