"""The Slack stand-in holds every method to Slack's published budget, on a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.limits import PUBLISHED_TIERS, Rate, SlackLimits
from tests.sandbox.slack_support import TOKEN
from tests.support.clocks import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(100.0)


@pytest.fixture
def strict(clock: ManualClock) -> Iterator[SlackApiStandIn]:
    with SlackApiStandIn(token=TOKEN, rate_limits=SlackLimits(clock=clock)).start() as server:
        yield server


@pytest.fixture
def client(strict: SlackApiStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=strict.api_url, timeout=5)  # no retry handler


def _posted(client: WebClient, channel: str) -> str | None:
    """None when the post went through, else its 429's Retry-After."""
    try:
        client.chat_postMessage(channel=channel, text="hi")
    except SlackApiError as exc:
        answer = exc.response
    else:
        return None
    assert answer.status_code == 429
    assert answer["error"] == "ratelimited"
    return str(answer.headers["Retry-After"])


def test_the_stand_in_is_strict_by_default_and_permissive_only_when_told() -> None:
    assert SlackApiStandIn().rate_limits is not None
    assert SlackApiStandIn(rate_limits=False).rate_limits is None


def test_posts_in_one_channel_past_a_short_burst_get_429_with_retry_after(
    strict: SlackApiStandIn, client: WebClient, clock: ManualClock
) -> None:
    burst = int(SlackLimits().post_per_channel.burst)
    assert [_posted(client, "C1") for _ in range(burst)] == [None] * burst
    assert _posted(client, "C1") == "1"  # about one a second
    assert _posted(client, "C2") is None  # another channel has a budget of its own
    clock.advance(1.0)
    assert _posted(client, "C1") is None
    assert strict.rate_limited == {"chat.postMessage": 1}
    assert len(strict.messages("C1")) == burst + 1  # the limited post was not posted


def test_chat_update_is_tier_3_for_the_whole_workspace(
    strict: SlackApiStandIn, client: WebClient, clock: ManualClock
) -> None:
    ts = [client.chat_postMessage(channel=f"C{i}", text="p")["ts"] for i in range(20)]
    rate = PUBLISHED_TIERS["chat.update"]
    assert rate.per_minute == 50
    answers = []
    for i in range(int(rate.burst) + 1):
        try:
            client.chat_update(channel=f"C{i}", ts=ts[i], text="edited")
            answers.append(200)
        except SlackApiError as exc:
            answers.append(exc.response.status_code)
            retry_after = int(exc.response.headers["Retry-After"])
    assert answers == [200] * int(rate.burst) + [429]
    assert retry_after == 2  # 50 a minute: a token every 1.2 s
    clock.advance(60.0)  # a minute refills the burst, never more than the burst
    edits = 0
    for i in range(20):
        try:
            client.chat_update(channel=f"C{i}", ts=ts[i], text="again")
            edits += 1
        except SlackApiError:
            break
    assert edits == int(rate.burst)
    assert strict.rate_limited == {"chat.update": 2}


def test_a_limit_applies_to_its_method_only(strict: SlackApiStandIn, client: WebClient) -> None:
    for _ in range(int(PUBLISHED_TIERS["conversations.history"].burst)):
        client.conversations_history(channel="C1")
    with pytest.raises(SlackApiError):
        client.conversations_history(channel="C1")
    client.conversations_info(channel="C1")  # Tier 3 too, but a budget of its own
    assert _posted(client, "C1") is None
    assert strict.rate_limited == {"conversations.history": 1}


def test_clear_gives_full_budgets_back_and_forgets_the_counts(
    strict: SlackApiStandIn, client: WebClient
) -> None:
    for _ in range(10):
        _posted(client, "C1")
    assert strict.rate_limited["chat.postMessage"] > 0
    strict.clear()
    assert strict.rate_limited == {}
    assert _posted(client, "C1") is None


def test_scaled_limits_grow_every_budget() -> None:
    bigger = SlackLimits().scaled(10)
    assert bigger.rate_of("chat.update") == Rate(500, 100)
    assert bigger.rate_of("chat.postMessage") == Rate(600, 40)
    assert bigger.rate_of("some.tier2.method") == Rate(200, 50)
