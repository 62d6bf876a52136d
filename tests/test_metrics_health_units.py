"""Units of the metrics and readiness state: own registry, retry hook, console observer, rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import prometheus_client
import pytest
import stamina
from prometheus_client.parser import text_string_to_metric_families

from bot.console.client import ConsoleClient
from bot.console.errors import AuthenticationFailed, ConsoleUnavailable
from bot.console.observer import outcome_of
from bot.process.health import Health, observed_cycle
from bot.process.metrics import Metrics, StateSample
from tests.console.conftest import FakeConsole, console_settings

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def request_done(
        self, endpoint: str, outcome: str, seconds: float, *, detail: str = ""
    ) -> None:
        assert seconds >= 0
        self.seen.append((endpoint, outcome, detail))


def families(metrics: Metrics) -> dict[str, float]:
    text = metrics.exposition().decode()
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_use_their_own_registry_and_two_instances_do_not_collide() -> None:
    names_before = set(prometheus_client.REGISTRY._names_to_collectors)
    first, second = Metrics(), Metrics()
    first.slack_call("chat.postMessage", "ok", 0.01)
    assert set(prometheus_client.REGISTRY._names_to_collectors) == names_before
    assert (
        families(first)[
            "scanbot_slack_calls_total[('method', 'chat.postMessage'), ('outcome', 'ok')]"
        ]
        == 1
    )
    assert not any(name.startswith("scanbot_slack_calls_total") for name in families(second))


def test_state_gauges_are_read_at_scrape_time_and_left_out_when_unknown() -> None:
    metrics = Metrics()
    assert "scanbot_open_watches[]" not in families(metrics)
    state = {"open": 2}
    metrics.watch_state(lambda: StateSample(open_watches=state["open"], outbox_pending=0))
    assert families(metrics)["scanbot_open_watches[]"] == 2
    state["open"] = 3
    assert families(metrics)["scanbot_open_watches[]"] == 3
    assert "scanbot_subscriptions[]" not in families(metrics)


def test_stamina_retries_are_counted_in_our_registry_and_the_hook_is_undone() -> None:
    metrics = Metrics()
    undo = metrics.install_retry_hook()
    attempts = 0
    try:
        for attempt in stamina.retry_context(on=ConnectionError, attempts=3, wait_initial=0):
            with attempt:
                attempts += 1
                if attempts < 3:
                    raise ConnectionError("flaky")
    finally:
        undo()
    retries = [v for k, v in families(metrics).items() if k.startswith("scanbot_retries_total")]
    assert sum(retries) == 2
    assert metrics.on_retry not in stamina.instrumentation.get_on_retry_hooks()


def test_outcomes_are_error_kinds_in_snake_case() -> None:
    assert outcome_of(None) == "ok"
    assert outcome_of(AuthenticationFailed("x")) == "authentication_failed"
    assert outcome_of(ConsoleUnavailable("x")) == "console_unavailable"


def test_the_console_client_reports_each_request_to_its_observer() -> None:
    fake = FakeConsole()
    recorder = Recorder()
    client = ConsoleClient(
        console_settings(), transport=httpx.MockTransport(fake), observer=recorder
    )
    client.ping()
    client.progress()
    fake.script("registry/progress", httpx.Response(401), httpx.Response(401))
    fake.script("authenticate", httpx.Response(401))
    with pytest.raises(AuthenticationFailed):
        client.progress()
    client.close()
    assert [(e, o) for e, o, _ in recorder.seen] == [
        ("_ping", "ok"),
        ("registry/progress", "ok"),
        ("registry/progress", "authentication_failed"),
    ]
    assert "PRISMA_USER" in recorder.seen[-1][2]


def test_readiness_is_503_only_while_starting_stopping_or_full_and_lists_outside_faults() -> None:
    now = [T0]
    health = Health(poll_seconds=10, clock=lambda: now[0])
    ready, report = health.readiness(database_ok=True, now=T0)
    assert not ready
    assert report["blocking"] == {"phase": "the process is starting"}
    health.running()
    ready, report = health.readiness(database_ok=True, now=T0)
    assert ready
    assert report["reasons"] == {"poll": "no poll cycle has succeeded yet"}
    health.cycle_succeeded(T0)
    assert health.readiness(database_ok=True, now=T0 + timedelta(seconds=40))[1]["status"] == (
        "ready"
    )
    ready, report = health.readiness(database_ok=True, now=T0 + timedelta(seconds=41))
    assert ready
    assert report["status"] == "degraded"
    assert "41 s ago" in str(report["reasons"])
    ready, report = health.readiness(database_ok=False, now=T0, slack_refused="invalid_auth")
    assert ready
    assert sorted(report["reasons"]) == ["database", "slack"]  # type: ignore[call-overload]
    assert not health.readiness(database_ok=True, now=T0, work_full=True)[0]

    health.request_done("_ping", "ok", 0.01)
    assert health.state().console_auth_ok is None  # _ping proves nothing about credentials
    assert health.state().console_reachable is True
    health.request_done("registry/progress", "authentication_failed", 0.01, detail="refused")
    ready, report = health.readiness(database_ok=True, now=T0)
    assert ready
    assert report["console_auth"] == "refused"
    health.request_done("registry/progress", "ok", 0.01)
    assert health.readiness(database_ok=True, now=T0)[1]["status"] == "ready"
    health.request_done("registry/progress", "console_unavailable", 0.01, detail="HTTP 503")
    ready, report = health.readiness(database_ok=True, now=T0)
    assert ready
    assert report["reasons"] == {"console": "the console cannot be reached: HTTP 503"}
    assert health.state().last_error == "console registry/progress: HTTP 503"
    health.stopping()
    assert not health.readiness(database_ok=True, now=T0)[0]


def test_liveness_fails_for_a_dead_scheduler_a_stuck_cycle_or_wedged_work_only() -> None:
    ticks = [0.0]
    health = Health(poll_seconds=10, clock=lambda: T0, monotonic=lambda: ticks[0])
    assert health.liveness(scheduler_alive=False)[0]  # starting: alive
    health.running()
    live, report = health.liveness(scheduler_alive=False)
    assert not live
    assert "scheduler" in report["problems"]  # type: ignore[operator]
    assert health.liveness(scheduler_alive=True)[0]

    health.cycle_started()
    ticks[0] = 299.0
    assert health.liveness(scheduler_alive=True)[0]
    ticks[0] = 301.0
    live, report = health.liveness(scheduler_alive=True)
    assert not live
    assert "301 s" in report["problems"]["poll"]  # type: ignore[index]
    health.cycle_succeeded(T0)
    assert health.liveness(scheduler_alive=True)[0]

    assert not health.liveness(scheduler_alive=True, work_wedged_seconds=301.0)[0]
    health.stopping()
    assert health.liveness(scheduler_alive=False)[0]  # a stopping process is not restarted


def test_a_failing_cycle_is_recorded_and_re_raised() -> None:
    health = Health(poll_seconds=10, clock=lambda: T0)
    durations: list[bool] = []

    def boom() -> None:
        raise RuntimeError("database locked")

    with pytest.raises(RuntimeError):
        observed_cycle(
            health, boom, clock=lambda: T0, on_duration=lambda s, ok: durations.append(ok)
        )
    assert observed_cycle(health, lambda: 7, clock=lambda: T0) == 7
    state = health.state()
    assert durations == [False]
    assert state.last_cycle_ok is True
    assert state.last_error == "poll cycle: RuntimeError: database locked"
