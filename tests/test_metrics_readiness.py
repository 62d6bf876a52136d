"""``/metrics`` and ``/readyz`` of the running bot, over HTTP, with the real collaborators.

Work happens through signed slash commands, the simulated console and the Slack stand-in;
the metrics are read back with prometheus-client's own parser.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.faults import expire_tokens
from tests.support.harness import BotHarness

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(bot: BotHarness) -> Samples:
    response = bot.http.get(f"{bot.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_console_requests_slack_calls_acks_and_poll_cycles(bot: BotHarness) -> None:
    before = scrape(bot)
    assert value(before, "scanbot_open_watches") == 0
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)

    bot.follow("alpine:3.16")
    bot.poll()
    after = scrape(bot)

    progress = {"endpoint": "registry/progress", "outcome": "ok"}
    assert value(after, "scanbot_console_requests_total", **progress) >= 2  # listener + poll
    assert value(after, "scanbot_console_request_seconds_count", endpoint="registry/progress") >= 2
    posted = value(after, "scanbot_slack_calls_total", method="chat.postMessage", outcome="ok")
    assert posted >= 1
    assert value(after, "scanbot_command_ack_seconds_count") == 1
    assert value(after, "scanbot_poll_cycles_total", outcome="ok") == 1
    assert value(after, "scanbot_poll_cycle_seconds_count") == 1
    assert value(after, "scanbot_open_watches") == 1
    assert value(after, "scanbot_last_successful_poll_age_seconds") == 0  # the clock stood still
    assert ("scanbot_outbox_pending", ()) in after

    bot.command("help")
    assert value(scrape(bot), "scanbot_command_ack_seconds_count") == 2


def test_the_subscriptions_gauge_counts_the_subscribed_channels(bot: BotHarness) -> None:
    """``scanbot_subscriptions`` is the number of subscribed channels.

    Failed before the fix: the gauge asked the store for ``list_subscriptions``, a method
    that does not exist (the store's is ``subscriptions()``), so it never appeared.
    """
    bot.poll()  # shared gauges are exported by the poll-lease holder
    assert ("scanbot_subscriptions", ()) in scrape(bot)
    for channel in ("C0SUBA", "C0SUBB"):
        bot.command("subscribe", channel_id=channel)
    bot.wait_until(lambda: len(bot.runtime.store.subscriptions()) == 2)
    bot.poll()

    assert value(scrape(bot), "scanbot_subscriptions") == 2


def test_metrics_count_console_retries_errors_and_slack_429s(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    bot.slack.rate_limit_next("chat.postMessage", retry_after=0)
    bot.follow("alpine:3.16")  # the parent message is posted after one 429
    bot.console.inject_fault("5xx", count=1, path_contains="registry/progress")

    bot.poll()
    samples = scrape(bot)

    retried = [
        v for (name, labels), v in samples.items() if name == "scanbot_retries_total" and v >= 1
    ]
    assert retried, "a 503 from the console is retried and counted"
    assert value(samples, "scanbot_slack_rate_limited_total", method="chat.postMessage") == 1

    bot.console.inject_fault("5xx", count=5, path_contains="registry/progress")
    bot.poll()
    unavailable = {"endpoint": "registry/progress", "outcome": "console_unavailable"}
    assert value(scrape(bot), "scanbot_console_requests_total", **unavailable) == 1


def ready(bot: BotHarness) -> tuple[int, dict[str, object]]:
    response = bot.http.get(f"{bot.url}/readyz")
    return response.status_code, response.json()


def test_readyz_stays_200_without_a_poll_cycle_and_names_it_degraded(bot: BotHarness) -> None:
    """A replica that can answer Slack is ready; a missing or stale poll is a reason."""
    status, report = ready(bot)
    assert status == 200
    assert report["status"] == "degraded"
    assert report["reasons"] == {"poll": "no poll cycle has succeeded yet"}

    bot.poll()
    status, report = ready(bot)
    assert status == 200
    assert report["status"] == "ready"
    assert "reasons" not in report

    bot.clock.advance(3 * 1 + 10 + 1)  # three poll intervals (1 s here) and 10 s
    status, report = ready(bot)
    assert status == 200
    assert "last successful poll cycle" in str(report["reasons"])

    bot.poll()
    assert ready(bot)[1]["status"] == "ready"


def test_readyz_stays_200_while_the_console_refuses_our_credentials_and_says_so(
    bot: BotHarness,
) -> None:
    """Users keep getting the bot's own explanation instead of Slack's dispatch_failed."""
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    bot.follow("alpine:3.16")
    bot.poll()
    assert ready(bot)[1]["status"] == "ready"

    bot.console.inject_fault("401", count=50, path_contains="authenticate")
    expire_tokens(bot.console)
    bot.poll()
    status, report = ready(bot)
    assert status == 200
    assert report["status"] == "degraded"
    assert report["console_auth"] == "refused"
    assert "credentials" in str(report["reasons"])
    help_reply = bot.command("help")  # the replica still answers Slack
    assert help_reply.status_code == 200

    bot.console.clear_faults()
    bot.poll()
    status, report = ready(bot)
    assert status == 200
    assert report["console_auth"] == "ok"
    assert report["status"] == "ready"


def test_readyz_names_an_unreachable_console_as_degraded(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    bot.follow("alpine:3.16")
    bot.poll()
    bot.console.inject_fault("5xx", count=50, path_contains="registry/progress")
    bot.poll()
    status, report = ready(bot)
    assert status == 200
    assert report["console"] == "unreachable"
    assert "console" in report["reasons"]  # type: ignore[operator]

    bot.console.clear_faults()
    bot.poll()
    assert ready(bot)[1]["console"] == "ok"


def test_readyz_stays_200_while_the_database_is_gone_and_says_so(
    bot: BotHarness, tmp_path: Path
) -> None:
    bot.poll()
    assert ready(bot)[0] == 200
    database = tmp_path / "scanbot.db"
    away = tmp_path / "away"
    away.mkdir()

    bot.runtime.store.close()
    for path in tmp_path.glob("scanbot.db*"):
        shutil.move(path, away / path.name)
    database.mkdir()  # a directory where the file was: SQLite cannot open it
    bot.runtime.supervisor.run()  # the next scheduled cycle meets the fault
    status, report = ready(bot)
    assert status == 200
    assert report["database"] == "unreachable"
    assert "the database cannot be used" in report["reasons"]["database"]  # type: ignore[index]
    assert bot.http.get(f"{bot.url}/metrics").status_code == 200  # gauges left out, no error

    database.rmdir()
    for path in away.iterdir():
        shutil.move(path, tmp_path / path.name)
    assert os.path.exists(database)
    bot.runtime.supervisor._resume_at = 0.0  # past the back-off
    bot.runtime.supervisor.run()
    assert "database" not in ready(bot)[1].get("reasons", {})  # type: ignore[operator]


def test_readyz_is_503_while_starting_stopping_or_with_every_place_for_work_taken(
    bot: BotHarness,
) -> None:
    """The only states in which the replica cannot take Slack requests."""
    bot.poll()
    assert ready(bot)[0] == 200
    reservations = []
    while (reservation := bot.runtime.work.reserve()) is not None:
        reservations.append(reservation)
    status, report = ready(bot)
    assert status == 503
    assert report["status"] == "not ready"
    assert "work" in report["blocking"]  # type: ignore[operator]
    for reservation in reservations:
        reservation.cancel()
    assert ready(bot)[0] == 200

    bot.runtime.monitor.stopping()
    status, report = ready(bot)
    assert status == 503
    assert report["phase"] == "stopping"


def test_named_reasons_show_on_readyz_until_cleared(bot: BotHarness) -> None:
    bot.poll()
    bot.runtime.monitor.set_reason("console_start", "the console was unreachable at start")
    status, report = ready(bot)
    assert status == 200
    assert report["reasons"] == {"console_start": "the console was unreachable at start"}
    bot.runtime.monitor.clear_reason("console_start")
    assert ready(bot)[1]["status"] == "ready"


def test_socket_mode_serves_metrics_and_readiness_beside_healthz(bot: BotHarness) -> None:
    from bot.server import BackgroundServer, build_wsgi_app

    server = BackgroundServer(build_wsgi_app(bot.runtime, serve_slack=False)).start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        assert bot.http.get(f"{url}/metrics").status_code == 200
        assert "scanbot_poll_cycles_total" in bot.http.get(f"{url}/metrics").text
        assert bot.http.get(f"{url}/readyz").json()["reasons"]["poll"]  # no poll cycle yet
        assert bot.http.post(f"{url}/slack/events", content=b"{}").status_code == 404
    finally:
        server.stop()


def test_readyz_never_waits_on_the_database(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database host that does not answer (connect timeout) must not hold the probe:
    readiness reports what the poll cycles and the sender last met, asking nothing."""
    bot.poll()

    def hanging_ping() -> bool:
        raise AssertionError("readiness asked the database")

    monkeypatch.setattr(bot.runtime.store, "ping", hanging_ping)
    status, report = ready(bot)
    assert status == 200
    assert report["database"] == "ok"
