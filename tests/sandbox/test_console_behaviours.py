"""The simulated console behaving like real ones do: registry scan status, parallel
registries, step errors, stalls, a URL that serves a web page, a console too old."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.console.images import iso
from tests.sandbox.console_support import ALPINE, V, counts, progress
from tests.sandbox.openapi import validate
from tests.support.clocks import ManualClock
from tests.support.faults import emulate_old_console


def status(http: httpx.Client) -> dict[str, Any]:
    answer = http.get(f"{V}/statuses/registry")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


def test_registry_status_reports_scanning_then_the_completed_scan_time(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock, components: dict[str, Any]
) -> None:
    before, then = status(http), console.epoch()
    console.start_regular_scan(repositories=2, images=2)
    during = status(http)
    clock.advance(10)
    after = status(http)

    # By default the console completed a regular scan three hours before the sandbox started.
    assert (before["scanning"], before["completed"]) == (False, True)
    assert before["scanTime"] == iso(then - 3 * 3600)
    assert (during["scanning"], during["completed"]) == (True, False)
    assert (after["scanning"], after["completed"], after["errors"]) == (False, True, [])
    assert after["scanTime"] != before["scanTime"]
    validate(components, "defender.ScanStatus", after)


def test_registry_status_of_a_console_that_never_completed_a_regular_scan() -> None:
    config = SandboxConsoleConfig(previous_regular_scan_age_seconds=None)
    with SandboxConsole(config).start() as fresh, httpx.Client(base_url=fresh.url) as client:
        token = client.post(
            "/api/v1/authenticate",
            json={"username": config.user, "password": config.password},
        ).json()["token"]
        answer = client.get(
            "/api/v34.04/statuses/registry", headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert (answer["completed"], answer["scanTime"]) == (False, "0001-01-01T00:00:00Z")


def test_registry_status_lists_an_injected_error_until_cleared(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.add_registry_status_error("No available Defender was found")

    assert status(http)["errors"] == ["No available Defender was found"]
    console.clear_registry_status_errors()
    assert status(http)["errors"] == []


def test_registries_scanned_in_parallel_are_named_in_the_step_titles(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    names = ("a.example.com", "b.example.com", "c.example.com")
    console.start_regular_scan(registries=names, repositories=2, images=3)
    (start,) = progress(http)
    clock.advance(3)
    (images,) = progress(http)

    assert "registries a.example.com, b.example.com, c.example.com" in start["discovery"]["title"]
    assert counts(start) == (0, 6, 0, 0, True)
    assert "Step 2/2 scanning images in registries a.example.com" in images["imageScan"]["title"]
    assert counts(images) == (6, 6, 3, 9, True)


def test_more_than_four_registries_at_once_is_refused(console: SandboxConsole) -> None:
    with pytest.raises(ValueError, match="1 to 4"):
        console.start_regular_scan(registries=[f"r{n}.example.com" for n in range(5)])


def test_a_step_error_shows_in_the_current_step_while_the_scan_goes_on(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    console.start_regular_scan(repositories=2, images=4)
    console.set_step_error("registry unreachable")
    (discovery,) = progress(http)
    clock.advance(3)
    (scanning,) = progress(http)

    assert discovery["discovery"]["error"] == "registry unreachable"
    assert "error" not in discovery["imageScan"]
    assert scanning["imageScan"]["error"] == "registry unreachable"
    assert scanning["isScanOngoing"] is True


def test_a_stalled_scan_stops_moving_then_resumes_where_it_was(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16", images=10)
    clock.advance(3)
    console.stall(60, image="library/alpine:3.16")
    (stalled,) = progress(http, **ALPINE)
    clock.advance(59)
    (still,) = progress(http, **ALPINE)
    clock.advance(2)
    (moving,) = progress(http, **ALPINE)

    assert counts(stalled)[2] == counts(still)[2] == 2
    assert counts(moving)[2] == 3


def test_a_url_serving_a_web_page_answers_200_with_html(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.inject_fault("html", path_contains="registry/progress")

    answer = http.get(f"{V}/registry/progress")

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.startswith("<!DOCTYPE html>")


def test_a_console_too_old_has_no_progress_endpoint_and_says_its_version(
    console: SandboxConsole, http: httpx.Client
) -> None:
    emulate_old_console(console, "22.12.585")

    assert http.get(f"{V}/version").json() == "22.12.585"
    assert http.get(f"{V}/registry/progress").status_code == 404
    assert http.get(f"{V}/registry").status_code == 200
    emulate_old_console(console, None)
    assert http.get(f"{V}/registry/progress").status_code == 200


def test_an_on_demand_scan_request_starts_that_image_once(
    console: SandboxConsole, http: httpx.Client
) -> None:
    body = {
        "onDemandScan": True,
        "tag": {"registry": "", "repo": "library/alpine", "tag": "3.16", "digest": ""},
    }
    assert http.post(f"{V}/registry/scan", json=body).status_code == 200
    assert http.post(f"{V}/registry/scan", json=body).status_code == 200  # already running

    (entry,) = progress(http, **ALPINE)
    assert entry["isScanOngoing"] is True
    assert len(console.wait_for_requests(lambda r: r.path.endswith("registry/scan"), count=2)) == 2
