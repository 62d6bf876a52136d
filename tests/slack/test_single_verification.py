"""The signature is verified once, by the guard in front of bolt: bolt's own check is off
(its cost showed in the ack latency), so the guard must keep every unsigned, forged or
stale request away from the listeners through the whole HTTP stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.slack.signing import signed_headers
from tests.hardening.support import guarded_bot, signed_command
from tests.support.harness import SIGNING_SECRET, BotHarness


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[BotHarness]:
    with guarded_bot(tmp_path) as bot:
        yield bot


def _post(bot: BotHarness, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=10)


def test_bolt_does_not_verify_again_because_the_guard_already_has(guarded: BotHarness) -> None:
    names = [type(m).__name__ for m in guarded.runtime.app._middleware_list]
    assert "RequestVerification" not in names


def test_an_unsigned_or_forged_follow_gets_401_and_never_reaches_a_listener(
    guarded: BotHarness,
) -> None:
    guarded.console.start_on_demand_scan("library/alpine", tag="3.16", images=3)
    guarded.console.clear_requests()
    body, headers = signed_command(guarded, "alpine:3.16")
    unsigned = {"Content-Type": headers["Content-Type"]}
    forged = {**headers, "X-Slack-Signature": "v0=" + "1" * 64}
    other_secret = signed_headers(SIGNING_SECRET + "x", body)
    for bad in (unsigned, forged, other_secret):
        assert _post(guarded, body, bad).status_code == 401
    guarded.runtime.work.wait_idle()
    assert guarded.runtime.store.list_open() == []
    assert guarded.console.requests == []  # nothing asked the console on their behalf
    # The same body, signed, is followed.
    assert _post(guarded, body, headers).status_code == 200
    guarded.wait_until(lambda: len(guarded.runtime.store.list_open()) == 1)
