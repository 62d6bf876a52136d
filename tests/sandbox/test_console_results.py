"""The simulated console's scan results: full and compact answers, order, scan times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from tests.sandbox.console_support import BASIC, V, make_client, progress
from tests.support.clocks import ManualClock

DETAIL_ARRAYS = ("vulnerabilities", "packages", "binaries", "history")
KEPT_IN_COMPACT = (
    "vulnerabilitiesCount",
    "vulnerabilityDistribution",
    "complianceDistribution",
    "complianceIssuesCount",
    "vulnerabilityRiskScore",
    "scanTime",
)


def results(http: httpx.Client, **params: str) -> list[dict[str, Any]]:
    answer = http.get(f"{V}/registry", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, list)
    return body


def epoch_of(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_the_full_answer_carries_the_detail_arrays_and_compact_nulls_only_them(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16")
    console.finish_all()
    (full,) = results(http, name="library/alpine:3.16")
    (compact,) = results(http, name="library/alpine:3.16", compact="true")

    assert all(isinstance(full[name], list) and full[name] for name in DETAIL_ARRAYS)
    assert all(compact[name] is None for name in DETAIL_ARRAYS)
    assert {k: compact[k] for k in KEPT_IN_COMPACT} == {k: full[k] for k in KEPT_IN_COMPACT}
    assert set(compact) == set(full)


def test_a_result_is_dated_when_its_scan_finished(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16", images=2)
    started = console.epoch()
    clock.advance(100)  # the scan ended at 3 s; the result keeps that time

    (result,) = results(http)

    assert epoch_of(result["scanTime"]) == started + 3


def test_an_image_keeps_its_previous_result_until_a_new_scan_finishes(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    old = console.epoch() - 86_400
    console.seed_result("library/alpine:3.16", scanned_epoch=old)
    console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    clock.advance(2)

    (during,) = results(http, name="library/alpine:3.16")
    clock.advance(10)
    (after,) = results(http, name="library/alpine:3.16")

    assert epoch_of(during["scanTime"]) == old
    assert epoch_of(after["scanTime"]) > old


def test_sort_by_scan_time_and_reverse_put_the_newest_first(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    for tag in ("3.18", "3.16", "3.17"):
        console.start_on_demand_scan("library/alpine", tag=tag)
        console.finish_all()
        clock.advance(5)

    newest_first = results(http, sort="scanTime", reverse="true")
    by_name = results(http)

    assert [r["repoTag"]["tag"] for r in newest_first] == ["3.17", "3.16", "3.18"]
    assert [r["repoTag"]["tag"] for r in by_name] == ["3.16", "3.17", "3.18"]


def test_filters_sort_and_compact_combine_as_the_bot_asks(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    console.seed_result("library/alpine:3.16", scanned_epoch=console.epoch() - 600)
    console.start_on_demand_scan("library/nginx", tag="1.25")
    console.finish_all()

    answer = results(
        http, name="library/alpine:3.16", compact="true", sort="scanTime", reverse="true"
    )

    assert [r["repoTag"]["repo"] for r in answer] == ["library/alpine"]
    assert answer[0]["vulnerabilities"] is None


def test_bad_sort_or_flags_are_refused_with_a_message(http: httpx.Client) -> None:
    for params in ({"sort": "nonsense"}, {"reverse": "maybe"}, {"compact": "1x"}):
        answer = http.get(f"{V}/registry", params=params)
        assert answer.status_code == 400
        assert answer.json()["err"]


def test_a_seeded_scan_starts_when_a_client_first_asks_about_it(clock: ManualClock) -> None:
    config = SandboxConsoleConfig(step_seconds=1.0, seed_on_demand=("library/alpine:3.16",))
    with SandboxConsole(config, clock=clock) as console, make_client(console.url, auth=BASIC) as c:
        clock.advance(1_000)  # long before anyone asks: nothing moves
        (first,) = progress(c, onDemand="true", repo="library/alpine", tag="3.16")
        clock.advance(1)
        (second,) = progress(c, onDemand="true", repo="library/alpine", tag="3.16")

    assert (first["discovery"]["scanned"], first["isScanOngoing"]) == (0, True)
    assert second["discovery"]["scanned"] == 1


def test_a_result_can_be_written_seconds_after_the_final_progress_answer(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    old = console.epoch() - 86_400
    console.seed_result("library/alpine:3.16", scanned_epoch=old)
    console.set_result_delay(25.0)
    console.start_on_demand_scan("library/alpine", tag="3.16", images=2)
    clock.advance(10)
    (final,) = progress(http, onDemand="true", repo="library/alpine", tag="3.16")
    assert final["isScanOngoing"] is False

    clock.advance(24)
    (before,) = results(http, name="library/alpine:3.16")
    clock.advance(1)
    (after,) = results(http, name="library/alpine:3.16")

    assert epoch_of(before["scanTime"]) == old
    assert epoch_of(after["scanTime"]) > old


def test_a_result_never_written_leaves_only_the_old_one(
    clock: ManualClock,
) -> None:
    config = SandboxConsoleConfig(result_delay_seconds=None)
    with (
        SandboxConsole(config, clock=clock) as console,
        make_client(console.url, auth=BASIC) as http,
    ):
        old = console.epoch() - 86_400
        console.seed_result("library/alpine:3.16", scanned_epoch=old)
        console.start_on_demand_scan("library/alpine", tag="3.16", images=2)
        clock.advance(3600)

        (result,) = results(http, name="library/alpine:3.16")

    assert epoch_of(result["scanTime"]) == old
