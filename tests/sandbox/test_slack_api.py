"""The Slack Web API stand-in, driven by a real ``slack_sdk.WebClient``, and Slack signing."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.sandbox.slack.api import SlackApiStandIn
from tests.sandbox.slack_support import TOKEN
from tests.support.faults import fail_http_next, fail_next

CHANNEL = "C0CHAN"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*scan* running"}}
META = {"event_type": "scanbot_watch", "event_payload": {"watch_id": 7}}


def _error_of(excinfo: pytest.ExceptionInfo[SlackApiError]) -> Any:
    return excinfo.value.response["error"]


def _raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:  # loopback only
        return response.status, json.loads(response.read())


# --- lifecycle ----------------------------------------------------------------------------


def test_urls_point_at_the_running_loopback_server(stand_in: SlackApiStandIn) -> None:
    assert stand_in.url.startswith("http://127.0.0.1:")
    assert stand_in.api_url == f"{stand_in.url}/api/"
    assert stand_in.response_url("T1") == f"{stand_in.url}/response/T1"


def test_stop_releases_the_port_and_is_idempotent() -> None:
    server = SlackApiStandIn().start()
    base = server.api_url
    server.stop()
    server.stop()
    with pytest.raises(OSError, match=r"refused|reset|closed"):
        urllib.request.urlopen(f"{base}auth.test", data=b"", timeout=2)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


def test_starting_twice_is_refused(stand_in: SlackApiStandIn) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        stand_in.start()


# --- auth -----------------------------------------------------------------------------------


def test_auth_test_reports_the_configured_identities() -> None:
    with SlackApiStandIn(token="xoxb-other", team_id="T9", bot_user_id="U9BOT").start() as s:
        answer = WebClient(token="xoxb-other", base_url=s.api_url).auth_test()
    assert answer["ok"] is True
    assert (answer["team_id"], answer["user_id"]) == ("T9", "U9BOT")
    assert answer["bot_id"]


def test_wrong_token_answers_invalid_auth_and_token_is_never_recorded(
    stand_in: SlackApiStandIn,
) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=stand_in.api_url)
    with pytest.raises(SlackApiError) as excinfo:
        wrong.chat_postMessage(channel=CHANNEL, text="hi")
    assert _error_of(excinfo) == "invalid_auth"
    assert excinfo.value.response.status_code == 200
    assert stand_in.messages(CHANNEL) == []
    recorded = repr(stand_in.calls)
    assert "xoxb-wrong" not in recorded
    assert "token" not in stand_in.calls[0].params


def test_missing_token_answers_invalid_auth(stand_in: SlackApiStandIn) -> None:
    status, answer = _raw_post(f"{stand_in.api_url}auth.test", b"", {})
    assert (status, answer) == (200, {"ok": False, "error": "invalid_auth"})


def test_token_form_parameter_and_json_string_blocks_are_decoded(
    stand_in: SlackApiStandIn,
) -> None:
    body = urlencode(
        {"token": TOKEN, "channel": CHANNEL, "text": "t", "blocks": json.dumps([SECTION])}
    ).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    _, answer = _raw_post(f"{stand_in.api_url}chat.postMessage", body, headers)
    assert answer["ok"] is True
    (call,) = stand_in.calls_to("chat.postMessage")
    assert call.params == {"channel": CHANNEL, "text": "t", "blocks": [SECTION]}
    assert stand_in.messages(CHANNEL)[0]["blocks"] == [SECTION]


def test_unknown_method_is_reported(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("users.list")
    assert _error_of(excinfo) == "unknown_method"


# --- messages -------------------------------------------------------------------------------


def test_post_message_returns_channel_ts_and_message(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    answer = client.chat_postMessage(channel=CHANNEL, text="hello", blocks=[SECTION])
    assert answer["channel"] == CHANNEL
    assert answer["message"]["text"] == "hello"
    assert answer["message"]["blocks"] == [SECTION]
    (stored,) = stand_in.messages(CHANNEL)
    assert stored["ts"] == answer["ts"]
    assert stored["user"] == "U0SCANBOT"


def test_timestamps_are_unique_and_increasing_even_from_many_threads(
    client: WebClient,
) -> None:
    stamps: list[str] = []
    lock = threading.Lock()

    def post() -> None:
        for _ in range(5):
            ts = client.chat_postMessage(channel=CHANNEL, text="x")["ts"]
            with lock:
                stamps.append(ts)

    workers = [threading.Thread(target=post) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(stamps)) == 20
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
    history = client.conversations_history(channel=CHANNEL, limit=100)["messages"]
    ordered = [m["ts"] for m in history]
    assert ordered == sorted(ordered, key=float, reverse=True)


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": ""}, "no_text"),
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"text": "t", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"text": "t", "blocks": [{"type": "section"}]}, "invalid_blocks"),
        ({"text": "t", "metadata": {"event_type": "e"}}, "invalid_metadata_format"),
    ],
)
def test_post_message_rejects_what_slack_rejects(
    client: WebClient, stand_in: SlackApiStandIn, kwargs: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, **kwargs)
    assert _error_of(excinfo) == error
    assert stand_in.messages(CHANNEL) == []


def test_update_edits_the_message_in_place(client: WebClient, stand_in: SlackApiStandIn) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="queued", blocks=[SECTION])["ts"]
    answer = client.chat_update(channel=CHANNEL, ts=ts, text="done")
    assert (answer["ts"], answer["text"]) == (ts, "done")
    (stored,) = stand_in.messages(CHANNEL)
    assert stored["text"] == "done"
    assert stored["blocks"] == [SECTION]  # kept: blocks were not sent
    assert float(stored["edited"]["ts"]) > float(ts)


def test_update_of_an_unknown_message_is_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    assert _error_of(excinfo) == "message_not_found"


def test_thread_replies_are_kept_apart_from_the_channel(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="parent")["ts"]
    first = client.chat_postMessage(channel=CHANNEL, thread_ts=parent, text="10%")["ts"]
    client.chat_postMessage(channel=CHANNEL, thread_ts=parent, text="50%")
    assert [m["text"] for m in stand_in.messages(CHANNEL)] == ["parent"]
    assert [m["text"] for m in stand_in.thread(CHANNEL, parent)] == ["10%", "50%"]
    (top,) = stand_in.messages(CHANNEL)
    assert top["reply_count"] == 2
    replies = client.conversations_replies(channel=CHANNEL, ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["parent", "10%", "50%"]
    assert all(m["thread_ts"] == parent for m in replies)
    client.chat_update(channel=CHANNEL, ts=first, text="20%")
    assert [m["text"] for m in stand_in.thread(CHANNEL, parent)] == ["20%", "50%"]


def test_replies_of_an_unknown_thread_is_thread_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_replies(channel=CHANNEL, ts="1.000001")
    assert _error_of(excinfo) == "thread_not_found"


def test_post_ephemeral_returns_a_message_ts(client: WebClient, stand_in: SlackApiStandIn) -> None:
    answer = client.chat_postEphemeral(channel=CHANNEL, user="U0ALICE", text="only you")
    assert float(answer["message_ts"]) > 0
    assert stand_in.messages(CHANNEL) == []
    (call,) = stand_in.calls_to("chat.postEphemeral")
    assert call.params["user"] == "U0ALICE"


def test_history_is_newest_first_and_honours_limit_oldest_and_metadata(
    client: WebClient,
) -> None:
    stamps = [
        client.chat_postMessage(channel=CHANNEL, text=f"m{i}", metadata=META)["ts"]
        for i in range(3)
    ]
    plain = client.conversations_history(channel=CHANNEL)["messages"]
    assert [m["text"] for m in plain] == ["m2", "m1", "m0"]
    assert all("metadata" not in m for m in plain)
    full = client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert [m["metadata"] for m in full["messages"]] == [META] * 3
    limited = client.conversations_history(channel=CHANNEL, limit=2)
    assert [m["text"] for m in limited["messages"]] == ["m2", "m1"]
    assert limited["has_more"] is True
    rest = client.conversations_history(
        channel=CHANNEL, limit=2, cursor=limited["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["m0"]
    newer = client.conversations_history(channel=CHANNEL, oldest=stamps[0])["messages"]
    assert [m["text"] for m in newer] == ["m2", "m1"]


# --- channels -------------------------------------------------------------------------------


def test_not_in_channel_and_missing_channel_raise_slack_errors(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    stand_in.not_in_channel = {"C0OUT"}
    stand_in.missing_channels.add("C0GONE")
    with pytest.raises(SlackApiError) as out:
        client.chat_postMessage(channel="C0OUT", text="x")
    with pytest.raises(SlackApiError) as gone:
        client.chat_postMessage(channel="C0GONE", text="x")
    assert (_error_of(out), _error_of(gone)) == ("not_in_channel", "channel_not_found")
    assert client.conversations_info(channel="C0OUT")["channel"]["is_member"] is False


def test_joining_a_channel_lets_the_bot_post(client: WebClient, stand_in: SlackApiStandIn) -> None:
    stand_in.not_in_channel.add("C0OUT")
    joined = client.conversations_join(channel="C0OUT")
    assert joined["channel"]["id"] == "C0OUT"
    client.chat_postMessage(channel="C0OUT", text="now in")
    assert client.conversations_info(channel="C0OUT")["channel"]["is_member"] is True
    assert [m["text"] for m in stand_in.messages("C0OUT")] == ["now in"]


# --- faults ---------------------------------------------------------------------------------


def test_fail_next_fails_count_calls_then_recovers(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    fail_next(stand_in, "chat.postMessage", error="fatal_error", count=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel=CHANNEL, text="x")
        assert _error_of(excinfo) == "fatal_error"
    client.chat_postMessage(channel=CHANNEL, text="x")
    assert len(stand_in.calls_to("chat.postMessage")) == 3
    assert len(stand_in.messages(CHANNEL)) == 1


def test_rate_limit_without_retry_handler_surfaces_429_and_retry_after(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    stand_in.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="x")
    response = excinfo.value.response
    assert response.status_code == 429
    assert response["error"] == "ratelimited"
    assert response.headers["Retry-After"] == "7"


def test_rate_limit_retry_handler_succeeds_after_retry_after(stand_in: SlackApiStandIn) -> None:
    client = WebClient(token=TOKEN, base_url=stand_in.api_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    stand_in.rate_limit_next("chat.postMessage", retry_after=0)
    answer = client.chat_postMessage(channel=CHANNEL, text="eventually")
    assert answer["ok"] is True
    assert len(stand_in.calls_to("chat.postMessage")) == 2
    assert [m["text"] for m in stand_in.messages(CHANNEL)] == ["eventually"]


def test_fail_http_next_answers_that_status(client: WebClient, stand_in: SlackApiStandIn) -> None:
    fail_http_next(stand_in, "conversations.history", status=503)
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_history(channel=CHANNEL)
    assert excinfo.value.response.status_code == 503
    assert client.conversations_history(channel=CHANNEL)["ok"] is True


def test_faults_are_used_in_the_order_queued(client: WebClient, stand_in: SlackApiStandIn) -> None:
    fail_next(stand_in, "auth.test", error="first")
    fail_http_next(stand_in, "auth.test", status=502)
    with pytest.raises(SlackApiError) as first:
        client.auth_test()
    with pytest.raises(SlackApiError) as second:
        client.auth_test()
    assert _error_of(first) == "first"
    assert second.value.response.status_code == 502
    assert client.auth_test()["ok"] is True


# --- response_url and waiting ---------------------------------------------------------------


def test_response_url_posts_are_recorded(stand_in: SlackApiStandIn) -> None:
    webhook = WebhookClient(stand_in.response_url("T1"))
    answer = webhook.send(text="Watching", response_type="in_channel")
    assert answer.status_code == 200
    (recorded,) = stand_in.wait_for_responses(1)
    assert recorded.path == "/response/T1"
    assert recorded.body["text"] == "Watching"
    assert recorded.body["response_type"] == "in_channel"


def test_wait_for_calls_returns_calls_made_from_another_thread(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    timer = threading.Timer(0.1, lambda: client.chat_postMessage(channel=CHANNEL, text="late"))
    timer.start()
    try:
        calls = stand_in.wait_for_calls("chat.postMessage", 1, timeout=5)
    finally:
        timer.join()
    assert calls[0].params["text"] == "late"
    assert calls[0].at <= time.time()


def test_wait_for_calls_timeout_lists_what_was_recorded(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    client.chat_postMessage(channel=CHANNEL, text="only one")
    with pytest.raises(AssertionError) as excinfo:
        stand_in.wait_for_calls("chat.update", 1, timeout=0.1)
    message = str(excinfo.value)
    assert "expected 1 call(s) to chat.update within 0.1s, got 0" in message
    assert "chat.postMessage(channel='C0CHAN', text='only one')" in message


def test_wait_for_responses_timeout_says_none_arrived(stand_in: SlackApiStandIn) -> None:
    with pytest.raises(AssertionError, match=r"response_url POST\(s\).*got 0"):
        stand_in.wait_for_responses(1, timeout=0.05)


def test_clear_forgets_calls_responses_messages_and_faults(
    client: WebClient, stand_in: SlackApiStandIn
) -> None:
    client.chat_postMessage(channel=CHANNEL, text="x")
    WebhookClient(stand_in.response_url()).send(text="y")
    fail_next(stand_in, "auth.test")
    stand_in.clear()
    assert (stand_in.calls, stand_in.responses, stand_in.messages(CHANNEL)) == ([], [], [])
    assert client.auth_test()["ok"] is True
