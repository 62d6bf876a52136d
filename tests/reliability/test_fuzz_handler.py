"""Property-based fuzzing of ``/scanprogress`` text and button clicks through the real
HTTP handler (waitress, the request guard, bolt, the listeners, the work queue).

Properties, for every generated input: an answer within Slack's 3 s (the HTTP client's
timeout is 3 s, as Slack's), never a 500; and afterwards, among everything the simulated
console received, never a malformed request: an image is named only on
``/registry/progress`` with ``onDemand=true``, and every ``repo``/``tag``/``digest``/
``registry`` value is a valid part of an image reference.  A few hundred examples run by
default, 10,000 in the slow suite.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.slack.signing import block_action_body, signed_headers, slash_command_body
from tests.support.harness import ALICE, CHANNEL, SIGNING_SECRET, BotHarness

SLACK_BUDGET = 3.0
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
VALID = {
    "repo": re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*"),
    "tag": re.compile(r"\w[\w.-]{0,127}", re.ASCII),
    "digest": re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"),
    "registry": re.compile(r"[A-Za-z0-9.-]+(?::[0-9]+)?|\[[A-Fa-f0-9:]+\](?::[0-9]+)?"),
}
IMAGE_PARAMS = frozenset(VALID)

# Words a user (or an attacker) would type, glued together at random.
WORDS = [
    "help", "list", "stop", "scan", "status", "subscribe", "unsubscribe", "regular",
    "alpine", "3.16", "library/alpine", "docker.io/", "registry:5000/", "localhost/",
    ":", "::", "@", "@sha256:", "sha256:" + "a" * 64, "/", "//", "..", "--", "__",
    "<", ">", "|", "<http://x|y>", "http://", "oci://", "*bold*", "`", "\u202e",
    "\u200b", "%2F", "?", "&", "=", "#", " ", "  ", "\t", "\n", "UPPER", "ä", "🙂",
    "<@U0BOB>", "<!channel>", "a" * 300, "1" * 40,
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(WORDS), max_size=8).map("".join),
    st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join),
)
KNOWN_ACTIONS = ("stop_watch", "scan_now", "open_console")
actions = st.sampled_from(KNOWN_ACTIONS) | st.text(max_size=30)
values = st.one_of(st.text(max_size=80), st.integers().map(str), texts)


def post(bot: BotHarness, body: bytes) -> httpx.Response:
    headers = signed_headers(SIGNING_SECRET, body)
    with httpx.Client(timeout=SLACK_BUDGET) as client:  # over 3 s raises: Slack gave up
        return client.post(f"{bot.url}/slack/events", content=body, headers=headers)


def assert_console_requests_well_formed(bot: BotHarness) -> int:
    bot.runtime.work.wait_idle()
    requests = bot.console.requests
    for request in requests:
        named = IMAGE_PARAMS & set(request.query)
        if named:
            assert request.path.endswith("/registry/progress"), request
            assert request.query.get("onDemand") == ["true"], request
        for name in named:
            for value in request.query[name]:
                assert VALID[name].fullmatch(value), f"{name}={value!r} in {request}"
    return len(requests)


@pytest.mark.parametrize(
    ("commands", "clicks"),
    [
        pytest.param(200, 100, id="300"),
        pytest.param(7_000, 3_000, marks=[pytest.mark.slow, pytest.mark.timeout(1800)], id="10000"),
    ],
)
def test_any_command_text_or_click_is_answered_in_time_and_never_reaches_the_console_malformed(
    bot: BotHarness, commands: int, clicks: int
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    tried = {"commands": 0, "clicks": 0}
    options = settings(
        max_examples=commands,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )

    @options
    @given(text=texts)
    def command(text: str) -> None:
        body = slash_command_body(
            text=text,
            user_id=ALICE,
            channel_id=CHANNEL,
            response_url=bot.slack.response_url("fuzz"),
            trigger_id=uuid.uuid4().hex,
        )
        response = post(bot, body)
        tried["commands"] += 1
        assert response.status_code == 200, (text, response.text)

    @settings(options, max_examples=clicks)
    @given(action_id=actions, value=values)
    def click(action_id: str, value: str) -> None:
        body = block_action_body(
            action_id=action_id,
            value=value,
            user_id=ALICE,
            channel_id=CHANNEL,
            response_url=bot.slack.response_url("fuzz-click"),
        )
        response = post(bot, body)
        tried["clicks"] += 1
        # bolt answers 404 "unhandled request" to an action_id no message of ours carries.
        expected = (200, 400) if action_id in KNOWN_ACTIONS else (200, 400, 404)
        assert response.status_code in expected, (action_id, value, response.text)

    command()
    click()
    seen = assert_console_requests_well_formed(bot)
    print(f"fuzz: {tried} inputs, {seen} console requests, all well formed")
