"""Unit tests of ConsoleClient.scan_results: several images' results in few requests,
never waiting for ``GET /registry``'s rate limit (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bot.console import client as client_module
from bot.console.client import ConsoleClient
from bot.console.ratelimit import SlidingWindowLimiter
from bot.domain.images import ScanTarget
from tests.console.conftest import FakeConsole

MakeClient = Callable[..., ConsoleClient]
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
NGINX = ScanTarget(repo="library/nginx", tag="1.25")
REDIS = ScanTarget(repo="library/redis", tag="7")
MIRRORED = ScanTarget(repo="team/app", tag="1.0", registry="reg.io")


def _result(target: ScanTarget, scan_time: str, critical: int) -> dict[str, object]:
    return {
        "_id": f"sha256:{target.repo}:{target.tag}:{scan_time}",
        "repoTag": {"registry": target.registry or "", "repo": target.repo, "tag": target.tag},
        "scanTime": scan_time,
        "vulnerabilityDistribution": {"critical": critical, "total": critical},
        "vulnerabilitiesCount": critical,
    }


def _repositories(request: httpx.Request) -> list[str]:
    return request.url.params.get_list("repository")


def test_several_images_are_asked_in_one_request_each_getting_its_newest_result(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.registry_body = [
        _result(ALPINE, "2024-05-02T00:00:00Z", 2),
        _result(ALPINE, "2024-05-01T00:00:00Z", 1),
        _result(NGINX, "2024-05-03T00:00:00Z", 5),
    ]
    lookup = make_client().scan_results([ALPINE, NGINX, REDIS, ALPINE])
    (request,) = fake.calls("registry")
    assert _repositories(request) == ["library/alpine", "library/nginx", "library/redis"]
    assert request.url.params["compact"] == "true"
    assert lookup.problem == ""
    alpine = lookup.found[ALPINE.key]
    assert alpine is not None
    assert alpine.vulnerabilities.critical == 2
    nginx = lookup.found[NGINX.key]
    assert nginx is not None
    assert nginx.vulnerabilities.critical == 5
    assert lookup.found[REDIS.key] is None  # the page was not full: the console has none


def test_each_registry_is_asked_in_a_request_of_its_own(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.registry_body = [_result(MIRRORED, "2024-05-01T00:00:00Z", 3)]
    lookup = make_client().scan_results([ALPINE, MIRRORED])
    requests = fake.calls("registry")
    assert sorted(r.url.params.get("registry", "") for r in requests) == ["", "reg.io"]
    mirrored = lookup.found[MIRRORED.key]
    assert mirrored is not None
    assert mirrored.vulnerabilities.critical == 3
    assert lookup.found[ALPINE.key] is None


def test_an_image_crowded_off_a_full_page_is_asked_again_alone(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    """Newer scans of nginx fill the page: alpine's result is not on it, so alpine is asked
    alone (not told "no result" on the strength of a page that could not show it)."""
    page = client_module._BATCH_PAGE
    crowd = [
        _result(NGINX, f"2024-05-02T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z", 1)
        for i in range(page)
    ]
    fake.script("registry", httpx.Response(200, json=crowd))
    fake.script("registry", httpx.Response(200, json=[_result(ALPINE, "2024-05-01T00:00:00Z", 4)]))
    lookup = make_client().scan_results([ALPINE, NGINX])
    first, second = fake.calls("registry")
    assert _repositories(first) == ["library/alpine", "library/nginx"]
    assert _repositories(second) == ["library/alpine"]
    alpine = lookup.found[ALPINE.key]
    assert alpine is not None
    assert alpine.vulnerabilities.critical == 4
    assert lookup.found[NGINX.key] is not None


def test_what_the_rate_limit_does_not_allow_now_is_left_out_without_waiting(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    """One request left in the window: the first registry's images are told, the second
    registry's are left out with the reason, and nothing sleeps (the limiter would fail
    the test if it did)."""
    client = make_client()

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"scan_results waited {seconds} s for the rate limit")

    client._registry_limiter = SlidingWindowLimiter(
        1, 30.0, max_wait=30.0, clock=lambda: 0.0, sleep=no_sleep
    )
    fake.registry_body = [_result(ALPINE, "2024-05-01T00:00:00Z", 1)]
    lookup = client.scan_results([ALPINE, MIRRORED])
    assert len(fake.calls("registry")) == 1
    assert set(lookup.found) == {ALPINE.key}
    assert lookup.problem == "scanbot holds back: the console allows 1 request per 30 s"


def test_a_request_held_back_by_scanbot_itself_is_not_a_console_error(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    """Nothing was sent, so the observer (metrics, readiness) hears of no failed request."""
    heard: list[tuple[str, str]] = []

    class Observer:
        def request_done(
            self, endpoint: str, outcome: str, seconds: float, *, detail: str = ""
        ) -> None:
            heard.append((endpoint, outcome))

    client = make_client(observer=Observer())
    client._registry_limiter = SlidingWindowLimiter(1, 30.0, max_wait=0.0, clock=lambda: 0.0)
    client.scan_results([ALPINE])
    lookup = client.scan_results([NGINX])
    assert lookup.found == {}
    assert lookup.problem
    assert [outcome for endpoint, outcome in heard if endpoint == "registry"] == ["ok"]
