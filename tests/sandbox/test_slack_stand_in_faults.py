"""The Slack stand-in's injectable faults and read-outs, as the bot's coming features meet them
(messages with metadata, edits, threads, ephemeral answers, response_url posts)."""

from __future__ import annotations

import threading

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.slack import SlackApiStandIn
from tests.sandbox.slack_support import TOKEN
from tests.support.faults import (
    accept_then_fail_next,
    fail_http_next,
    fail_next,
    reset_next,
    stall_next,
)

CHANNEL = "C0CHAN"
META = {"event_type": "scanbot_subscription", "event_payload": {"registry": "r.example.com"}}


def test_a_parent_with_metadata_its_edit_and_thread_read_back_as_slack_returns_them(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="scan started", metadata=META)
    client.chat_update(channel=CHANNEL, ts=parent["ts"], text="scan 50%")
    client.chat_postMessage(channel=CHANNEL, thread_ts=parent["ts"], text="step 2/2")

    replies = client.conversations_replies(
        channel=CHANNEL, ts=parent["ts"], include_all_metadata=True
    )
    history = client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    plain = client.conversations_history(channel=CHANNEL)

    assert [m["text"] for m in replies["messages"]] == ["scan 50%", "step 2/2"]
    assert history["messages"][0]["metadata"] == META
    assert "metadata" not in plain["messages"][0]
    assert [m["text"] for m in stand_in.thread(CHANNEL, parent["ts"])] == ["step 2/2"]


def test_ephemeral_messages_are_read_per_channel_and_user(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    client.chat_postEphemeral(channel=CHANNEL, user="U1", text="not allowed")
    client.chat_postEphemeral(channel=CHANNEL, user="U2", text="no scan running")

    assert [m["text"] for m in stand_in.ephemeral(CHANNEL)] == ["not allowed", "no scan running"]
    assert [m["text"] for m in stand_in.ephemeral(CHANNEL, "U2")] == ["no scan running"]
    assert stand_in.messages(CHANNEL) == []


def test_response_url_posts_are_read_per_name(stand_in: SlackApiStandIn) -> None:
    httpx.post(stand_in.response_url("cmd-1"), json={"text": "following"}, timeout=5)

    assert stand_in.responses_to("cmd-1") == [{"text": "following"}]
    assert stand_in.responses_to("other") == []


@pytest.mark.parametrize(
    "error",
    ["invalid_blocks", "channel_not_found", "is_archived", "account_inactive", "invalid_auth"],
)
def test_an_injected_slack_error_is_raised_and_nothing_is_posted(
    client: WebClient, stand_in: SlackApiStandIn, error: str
) -> None:
    fail_next(stand_in, "chat.postMessage", error=error)

    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="hello")

    assert excinfo.value.response["error"] == error
    assert stand_in.messages(CHANNEL) == []
    client.chat_postMessage(channel=CHANNEL, text="hello")  # the fault was used up


def test_an_archived_channel_refuses_posts_but_keeps_its_history(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    client.chat_postMessage(channel=CHANNEL, text="before")
    stand_in.archived_channels = {CHANNEL}

    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="after")

    assert excinfo.value.response["error"] == "is_archived"
    assert [m["text"] for m in client.conversations_history(channel=CHANNEL)["messages"]] == [
        "before"
    ]


def test_a_rate_limited_call_answers_429_with_retry_after(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    stand_in.rate_limit_next("chat.update", retry_after=3)
    posted = client.chat_postMessage(channel=CHANNEL, text="x")

    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel=CHANNEL, ts=posted["ts"], text="y")

    assert excinfo.value.response.status_code == 429
    headers = {k.lower(): v for k, v in excinfo.value.response.headers.items()}
    assert headers["retry-after"] in ("3", ["3"])


def test_a_5xx_does_nothing_while_accepted_then_500_posts_the_message(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    fail_http_next(stand_in, "chat.postMessage", status=503)
    accept_then_fail_next(stand_in, "chat.postMessage", status=500)

    for _ in range(2):
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel=CHANNEL, text="final reply")

    assert [m["text"] for m in stand_in.messages(CHANNEL)] == ["final reply"]


def test_a_stalled_call_takes_effect_while_the_client_times_out(
    stand_in: SlackApiStandIn,
) -> None:
    stall_next(stand_in, "chat.postMessage", seconds=30)
    impatient = WebClient(token=TOKEN, base_url=stand_in.api_url, timeout=1)

    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel=CHANNEL, text="slow")

    stand_in.wait_for_calls("chat.postMessage", 1)
    assert [m["text"] for m in stand_in.messages(CHANNEL)] == ["slow"]


def test_a_reset_connection_is_an_error_and_nothing_is_posted(stand_in: SlackApiStandIn) -> None:
    reset_next(stand_in, "chat.postMessage")

    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.post(
            f"{stand_in.api_url}chat.postMessage",
            json={"channel": CHANNEL, "text": "lost"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )

    assert stand_in.messages(CHANNEL) == []


def test_stop_cuts_a_stalled_answer_short(stand_in: SlackApiStandIn) -> None:
    stall_next(stand_in, "auth.test", seconds=60)
    with httpx.Client(timeout=10) as http:
        # The stall holds the request; stopping from here must not wait for it.
        pending = http.build_request(
            "POST", f"{stand_in.api_url}auth.test", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        outcome: list[object] = []
        sender = threading.Thread(target=lambda: outcome.append(_send(http, pending)))
        sender.start()
        stand_in.wait_for_calls("auth.test", 1)
        stand_in.stop()
        sender.join(timeout=10)

    assert not sender.is_alive()
    assert outcome


def _send(http: httpx.Client, request: httpx.Request) -> object:
    try:
        return http.send(request).status_code
    except httpx.HTTPError as err:
        return err
