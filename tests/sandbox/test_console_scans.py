"""The sandbox console over real HTTP: scan progress, starting scans, results, OpenAPI shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from jsonschema import (
    ValidationError,
)

from bot.sandbox.console import SandboxConsole
from tests.sandbox.console_support import ALPINE, BASIC, V, counts, make_client, progress
from tests.sandbox.openapi import validate
from tests.support.clocks import ManualClock

# --- progress: the documented edges ----------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"repo": "library/alpine"},
        {"repo": "library/alpine", "tag": "3.16"},
        {"tag": "3.16"},
        {"digest": "sha256:abc"},
        {"registry": "registry.example.com"},
        {"onDemand": "false", "repo": "library/alpine", "tag": "3.16"},
        {"onDemand": "true"},
        {"onDemand": "true", "tag": "3.16"},
        {"onDemand": "true", "repo": "library/alpine"},
        {"onDemand": "true", "repo": "library/alpine", "registry": "r.example.com"},
        {"onDemand": "maybe", "repo": "library/alpine", "tag": "3.16"},
    ],
)
def test_progress_rejects_inconsistent_on_demand_parameters_with_400(
    http: httpx.Client, params: dict[str, str]
) -> None:
    answer = http.get(f"{V}/registry/progress", params=params)
    assert answer.status_code == 400
    assert isinstance(answer.json()["err"], str)
    assert answer.json()["err"]


def test_progress_of_an_image_never_scanned_is_empty(http: httpx.Client) -> None:
    assert progress(http, **ALPINE) == []
    assert progress(http, onDemand="true", repo="library/alpine", digest="sha256:" + "a" * 64) == []


def test_regular_progress_is_empty_without_scans_and_ignores_project(http: httpx.Client) -> None:
    assert progress(http) == []
    assert progress(http, project="Central Console") == []
    assert progress(http, onDemand="false") == []


def test_a_finished_on_demand_scan_is_served_once_then_empty_until_rescanned(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16")
    assert progress(http, **ALPINE)[0]["isScanOngoing"] is True
    console.finish_all()
    final = progress(http, **ALPINE)
    assert len(final) == 1
    assert counts(final[0]) == (1, 1, 1, 1, False)
    assert progress(http, **ALPINE) == []
    assert progress(http, **ALPINE) == []
    console.start_on_demand_scan("library/alpine", tag="3.16")
    assert progress(http, **ALPINE)[0]["isScanOngoing"] is True


def test_on_demand_scans_are_kept_per_image(console: SandboxConsole, http: httpx.Client) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16")
    console.start_on_demand_scan("team/app", digest="sha256:" + "b" * 64, registry="r.example.com")
    assert progress(http, onDemand="true", repo="library/alpine", tag="3.17") == []
    assert progress(http, onDemand="true", repo="team/app", digest="sha256:" + "b" * 64) == []
    by_digest = progress(
        http,
        onDemand="true",
        repo="team/app",
        digest="sha256:" + "b" * 64,
        registry="r.example.com",
    )
    assert "digest: sha256:" in by_digest[0]["discovery"]["title"]
    assert len(progress(http, **ALPINE)) == 1


def test_on_demand_scan_progresses_through_both_steps_with_the_clock(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    console.start_on_demand_scan(
        "library/alpine", tag="3.16", discovery_total=2, images=4, step_seconds=10
    )
    seen = []
    for _ in range(6):
        seen.append(counts(progress(http, **ALPINE)[0]))
        clock.advance(5)  # half a step: nothing changes
        assert counts(progress(http, **ALPINE)[0]) == seen[-1]
        clock.advance(5)
    final = progress(http, **ALPINE)
    assert seen == [
        (0, 2, 0, 0, True),  # step 1/2 starts; no image known yet
        (1, 2, 0, 2, True),  # half the tags discovered: half the images known
        (2, 2, 0, 4, True),  # step 2/2
        (2, 2, 1, 4, True),
        (2, 2, 2, 4, True),
        (2, 2, 3, 4, True),
    ]
    assert counts(final[0]) == (2, 2, 4, 4, False)
    entry = final[0]
    assert entry["discovery"]["title"] == (
        "Step 1/2 discovering tags in repository: library/alpine, tag: 3.16"
    )
    assert entry["imageScan"]["title"] == (
        "Step 2/2 scanning images in repository: library/alpine, tag: 3.16"
    )
    assert "specScanStartTime" not in entry
    assert "error" not in entry["imageScan"]


def test_a_failing_scan_reports_the_error_in_step_2_and_ends(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16", images=4, fail_with="pull failed")
    clock.advance(2)
    entry = progress(http, **ALPINE)[0]
    assert entry["isScanOngoing"] is True
    assert "error" not in entry["imageScan"]
    clock.advance(1)  # discovery (1) + half the images (2)
    entry = progress(http, **ALPINE)[0]
    assert counts(entry) == (1, 1, 2, 4, False)
    assert entry["imageScan"]["error"] == "pull failed"
    assert "error" not in entry["discovery"]
    assert progress(http, **ALPINE) == []


def test_a_scan_without_images_fails_in_step_1(console: SandboxConsole, http: httpx.Client) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16", images=0, fail_with="no such tag")
    console.finish_all()
    entry = progress(http, **ALPINE)[0]
    assert entry["discovery"]["error"] == "no such tag"
    assert entry["isScanOngoing"] is False


# --- POST /registry/scan ------------------------------------------------------------------


def test_post_scan_starts_an_on_demand_scan_visible_in_progress(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    body = {"onDemandScan": True, "tag": {"repo": "library/alpine", "tag": "3.16"}}
    answer = http.post(f"{V}/registry/scan", json=body)
    assert answer.status_code == 200
    assert counts(progress(http, **ALPINE)[0]) == (0, 1, 0, 0, True)
    clock.advance(1)
    assert http.post(f"{V}/registry/scan", json=body).status_code == 200  # ongoing: kept
    assert counts(progress(http, **ALPINE)[0]) == (1, 1, 0, 1, True)
    clock.advance(1)
    assert counts(progress(http, **ALPINE)[0]) == (1, 1, 1, 1, False)


def test_post_scan_with_a_registry_is_followed_with_that_registry(
    console: SandboxConsole, http: httpx.Client
) -> None:
    tag = {"repo": "team/app", "tag": "1.0", "registry": "registry.example.com:5000"}
    assert http.post(f"{V}/registry/scan", json={"onDemandScan": True, "tag": tag}).is_success
    assert progress(http, onDemand="true", repo="team/app", tag="1.0") == []
    entries = progress(http, onDemand="true", **tag)
    assert entries[0]["discovery"]["title"].endswith("registry: registry.example.com:5000")


@pytest.mark.parametrize(
    "body",
    [
        {"onDemandScan": True},
        {"onDemandScan": True, "tag": {}},
        {"onDemandScan": True, "tag": {"tag": "3.16"}},
        {"onDemandScan": True, "tag": {"repo": "library/alpine"}},
        {"onDemandScan": True, "tag": {"repo": 5, "tag": "3.16"}},
        {"onDemandScan": "yes", "tag": {"repo": "library/alpine", "tag": "3.16"}},
        {"onDemandScan": True, "tag": "library/alpine:3.16"},
        ["library/alpine"],
    ],
)
def test_post_scan_rejects_a_bad_body_with_400(http: httpx.Client, body: object) -> None:
    answer = http.post(f"{V}/registry/scan", json=body)
    assert answer.status_code == 400
    assert answer.json()["err"]
    assert progress(http) == []


def test_post_scan_rejects_a_body_that_is_not_json(http: httpx.Client) -> None:
    answer = http.post(
        f"{V}/registry/scan", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["err"]


def test_post_scan_without_on_demand_starts_a_regular_scan_that_stays_listed(
    http: httpx.Client, clock: ManualClock
) -> None:
    assert http.post(f"{V}/registry/scan", json={"tag": {"registry": "reg.example.com"}}).is_success
    entry = progress(http)[0]
    assert counts(entry) == (0, 4, 0, 0, True)
    assert entry["discovery"]["title"] == (
        "Step 1/2 discovering tags in registry reg.example.com: "
        "Discovered tags in 0/4 repositories with 1 Defenders"
    )
    datetime.fromisoformat(entry["specScanStartTime"])
    clock.advance(2)
    assert counts(progress(http)[0]) == (2, 4, 0, 6, True)  # as on the API page
    clock.advance(2 + 12)
    for _ in range(3):  # regular scans do not vanish once finished
        done = progress(http)
        assert len(done) == 1
        assert counts(done[0]) == (4, 4, 12, 12, False)
    assert done[0]["imageScan"]["title"] == (
        "Step 2/2 scanning images in registry reg.example.com: Scanned 12/12 images with 1 Defender"
    )


def test_regular_scans_are_listed_per_registry_and_can_be_stopped(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    console.start_regular_scan(registry="a.example.com", repositories=2, images=2)
    console.start_regular_scan(registry="b.example.com", repositories=1, images=10)
    clock.advance(3)
    assert http.post(f"{V}/registry/stop").status_code == 200
    clock.advance(100)
    a, b = progress(http)
    assert counts(a) == (2, 2, 1, 2, False)
    assert counts(b) == (1, 1, 2, 10, False)
    assert http.post(f"{V}/registry/scan").status_code == 200  # rescans every registry
    assert [counts(e) for e in progress(http)] == [(0, 2, 0, 0, True), (0, 1, 0, 0, True)]


# --- GET /registry ------------------------------------------------------------------------


def test_results_list_images_whose_scan_completed(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16")
    assert http.get(f"{V}/registry").json() == []
    console.finish_all()
    answer = http.get(f"{V}/registry", params={"name": "library/alpine:3.16"})
    assert answer.headers["Total-Count"] == "1"
    (result,) = answer.json()
    assert result["repoTag"] == {"registry": "", "repo": "library/alpine", "tag": "3.16"}
    assert result["_id"] == result["id"]
    assert result["id"].startswith("sha256:")
    vulns = result["vulnerabilityDistribution"]
    assert vulns["total"] == vulns["critical"] + vulns["high"] + vulns["medium"] + vulns["low"]
    assert result["vulnerabilitiesCount"] == vulns["total"]
    assert result["complianceIssuesCount"] == result["complianceDistribution"]["total"]
    assert isinstance(result["vulnerabilityRiskScore"], float)
    assert result["repoDigests"][0].startswith("library/alpine@sha256:")
    datetime.fromisoformat(result["scanTime"])
    assert result["err"] == ""
    docker_io = http.get(f"{V}/registry", params={"name": "docker.io/library/alpine:3.16"})
    assert docker_io.json() == [result]


def test_results_counts_are_deterministic_per_image_name(clock: ManualClock) -> None:
    def alpine_result() -> dict[str, Any]:
        with (
            SandboxConsole(clock=clock) as console,
            make_client(console.url, auth=BASIC) as client,
        ):
            console.start_on_demand_scan("library/alpine", tag="3.16")
            console.start_on_demand_scan("library/nginx", tag="1.27")
            console.finish_all()
            by_repo = {r["repoTag"]["repo"]: r for r in client.get(f"{V}/registry").json()}
            assert by_repo["library/alpine"]["id"] != by_repo["library/nginx"]["id"]
            alpine = by_repo["library/alpine"]
            assert isinstance(alpine, dict)
            return alpine

    first, second = alpine_result(), alpine_result()
    for name in ("id", "vulnerabilityDistribution", "complianceDistribution", "repoDigests"):
        assert first[name] == second[name]


def test_results_filters_and_paging(
    console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    console.start_regular_scan(registry="reg.example.com", repositories=3, images=7)
    console.start_on_demand_scan("library/alpine", tag="3.16")
    clock.advance(3 + 4)  # discovery, then 4 of the 7 images
    everything = http.get(f"{V}/registry").json()
    assert len(everything) == 1 + 4
    regular = http.get(f"{V}/registry", params={"registry": "reg.example.com"}).json()
    assert len(regular) == 4
    assert {r["repoTag"]["registry"] for r in regular} == {"reg.example.com"}
    repo = regular[0]["repoTag"]["repo"]
    by_repo = http.get(f"{V}/registry", params={"repository": repo}).json()
    assert by_repo
    assert all(r["repoTag"]["repo"] == repo for r in by_repo)
    ids = [everything[0]["id"], everything[1]["id"]]
    by_id = http.get(f"{V}/registry", params={"id": ",".join(ids)}).json()
    assert [r["id"] for r in by_id] == ids
    page = http.get(f"{V}/registry", params={"offset": 1, "limit": 2})
    assert page.json() == everything[1:3]
    assert page.headers["Total-Count"] == "5"
    assert http.get(f"{V}/registry", params={"limit": "x"}).status_code == 400


def test_a_failed_scan_shows_its_error_in_the_results(
    console: SandboxConsole, http: httpx.Client
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16", fail_with="pull failed")
    console.finish_all()
    (result,) = http.get(f"{V}/registry").json()
    assert result["err"] == "pull failed"
    assert result["vulnerabilitiesCount"] == 0


def test_results_are_rate_limited_to_30_requests_per_30_seconds(
    http: httpx.Client, clock: ManualClock
) -> None:
    for _ in range(30):
        assert http.get(f"{V}/registry").status_code == 200
        clock.advance(0.5)
    limited = http.get(f"{V}/registry")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) == 15
    assert limited.json()["err"]
    assert http.get(f"{V}/registry/progress").status_code == 200  # other endpoints: no limit
    clock.advance(15)
    assert http.get(f"{V}/registry").status_code == 200


# --- OpenAPI schema ---------------------------------------------------------------------------


def test_progress_answers_match_the_openapi_schema(
    components: dict[str, Any], console: SandboxConsole, http: httpx.Client, clock: ManualClock
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=2, images=2)
    console.start_on_demand_scan("library/nginx", tag="1", images=2, fail_with="boom")
    console.start_regular_scan()
    nginx = {"onDemand": "true", "repo": "library/nginx", "tag": "1"}
    answers = []
    for _ in range(5):
        answers += [progress(http, **ALPINE), progress(http, **nginx), progress(http)]
        clock.advance(1)
    console.finish_all()
    answers.append(progress(http))
    assert any(a and "error" in a[0]["imageScan"] for a in answers)
    for answer in answers:
        validate(components, "-_shared.RegistryScanProgress", answer)


def test_results_match_the_openapi_schema(
    components: dict[str, Any], console: SandboxConsole, http: httpx.Client
) -> None:
    console.start_on_demand_scan("library/alpine", tag="3.16")
    console.start_on_demand_scan("team/app", digest="sha256:" + "c" * 64, registry="r.example.com")
    console.start_regular_scan(images=3)
    console.finish_all()
    full = http.get(f"{V}/registry").json()
    assert len(full) == 5
    validate(components, "-_shared.ImageScanResult", full)
    compact = http.get(f"{V}/registry", params={"compact": "true"}).json()
    nulled = ("vulnerabilities", "packages", "binaries", "history")
    assert all(result[name] is None for result in compact for name in nulled)
    # Go's nil slices come out as null, which the OpenAPI document does not allow for.
    validate(
        components,
        "-_shared.ImageScanResult",
        [{k: v for k, v in result.items() if k not in nulled} for result in compact],
    )


def test_the_schema_check_catches_a_wrong_shape(components: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        validate(components, "-_shared.RegistryScanProgress", [{"isScanOngoing": "yes"}])
