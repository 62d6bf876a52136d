"""/scanprogress end to end over HTTP: signed requests in, Slack Web API calls out.

The bot runs behind waitress; the console is the simulated console and Slack's Web API
is the loopback stand-in, both real HTTP servers.
"""

from __future__ import annotations

import json
import time

import httpx

from bot.domain.watch import WatchState
from bot.sandbox.console import RecordedRequest
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from tests.support.harness import ALICE, CHANNEL, SIGNING_SECRET, BotHarness


def progress_requests(bot: BotHarness) -> list[RecordedRequest]:
    return [r for r in bot.console.requests if r.path.endswith("/registry/progress")]


def response_texts(bot: BotHarness) -> str:
    return json.dumps([r.body for r in bot.slack.responses])


def test_following_a_running_scan_posts_the_parent_message_in_the_channel(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)

    response = bot.command("alpine 3.16")

    assert response.status_code == 200
    (post,) = bot.slack.wait_for_calls("chat.postMessage", 1)
    assert post.params["channel"] == CHANNEL
    assert "thread_ts" not in post.params
    rendered = json.dumps(post.params["blocks"])
    assert "alpine:3.16" in rendered
    assert f"<@{ALICE}>" in rendered
    assert "stop_watch" in rendered
    assert post.params["text"]  # plain-text fallback
    bot.wait_for_active_watches(1)
    (watch,) = bot.runtime.store.list_open(channel_id=CHANNEL)
    assert watch.state is WatchState.ACTIVE
    assert watch.parent_ts == bot.slack.messages(CHANNEL)[0]["ts"]


def test_the_ack_does_not_wait_for_the_console(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16")
    bot.console.inject_fault("delay", delay_seconds=1.5, path_contains="registry/progress")

    response = bot.command("alpine:3.16")

    assert response.status_code == 200
    assert bot.slack.calls_to("chat.postMessage") == []  # the console had not answered yet
    bot.slack.wait_for_calls("chat.postMessage", 1, timeout=10)


def test_no_scan_in_progress_is_told_only_to_the_user_and_creates_no_watch(
    bot: BotHarness,
) -> None:
    bot.command("nginx:1.25")

    (reply,) = bot.slack.wait_for_responses(1)
    assert reply.body.get("response_type", "ephemeral") == "ephemeral"
    assert "nginx:1.25" in json.dumps(reply.body)
    assert bot.slack.calls_to("chat.postMessage") == []
    assert bot.runtime.store.list_open() == []


def test_the_same_image_twice_in_a_channel_does_not_post_a_second_parent(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16")
    bot.command("alpine:3.16")
    bot.slack.wait_for_calls("chat.postMessage", 1)

    bot.command("library/alpine:3.16")

    bot.slack.wait_for_responses(1)
    assert len(bot.slack.calls_to("chat.postMessage")) == 1
    assert len(bot.runtime.store.list_open()) == 1


def test_a_bad_image_reference_is_answered_in_the_ack_without_asking_the_console(
    bot: BotHarness,
) -> None:
    response = bot.command("Alpine:3.16")

    assert response.status_code == 200
    body = response.json()
    assert "lowercase" in json.dumps(body)
    assert "/scanprogress help" in json.dumps(body)
    assert progress_requests(bot) == []


def test_help_explains_every_form_with_examples(bot: BotHarness) -> None:
    body = json.dumps(bot.command("help").json())
    for example in ("alpine 3.16", "list", "stop", "sha256"):
        assert example in body
    assert progress_requests(bot) == []


def test_no_image_shows_the_regular_registry_scan(bot: BotHarness) -> None:
    bot.console.start_regular_scan(registry="registry.example.com", repositories=4, images=12)

    bot.command("")

    (reply,) = bot.slack.wait_for_responses(1)
    text = json.dumps(reply.body)
    assert "/4" in text or "4 " in text
    (request,) = progress_requests(bot)
    assert "repo" not in request.query
    assert "onDemand" not in request.query


def test_forged_signature_is_refused_and_the_console_is_not_asked(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16")
    body = slash_command_body(text="alpine:3.16")
    headers = signed_headers("not-the-secret", body)

    response = httpx.post(f"{bot.url}/slack/events", content=body, headers=headers)

    assert response.status_code == 401
    time.sleep(0.3)
    assert progress_requests(bot) == []
    assert [c.method for c in bot.slack.calls if c.method != "auth.test"] == []


def test_a_replayed_request_older_than_five_minutes_is_refused(bot: BotHarness) -> None:
    body = slash_command_body(text="alpine:3.16")
    headers = signed_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 6 * 60)

    response = httpx.post(f"{bot.url}/slack/events", content=body, headers=headers)

    assert response.status_code == 401
    assert progress_requests(bot) == []


def test_console_unreachable_gives_an_ephemeral_message_saying_what_to_do(
    bot: BotHarness,
) -> None:
    bot.console.inject_fault("5xx", count=50, path_contains="registry/progress")

    bot.command("alpine:3.16")

    (reply,) = bot.slack.wait_for_responses(1, timeout=30)
    text = json.dumps(reply.body)
    assert "PRISMA_CONSOLE_URL" in text or "console" in text.lower()
    assert "Traceback" not in text
    assert bot.runtime.store.list_open() == []


def test_bot_not_in_channel_explains_how_to_invite_it_and_leaves_no_watch(
    bot: BotHarness,
) -> None:
    bot.slack.not_in_channel = {"C0PRIVATE"}
    bot.console.start_on_demand_scan("library/alpine", tag="3.16")

    bot.command("alpine:3.16", channel_id="C0PRIVATE")

    (reply,) = bot.slack.wait_for_responses(1)
    assert "/invite" in json.dumps(reply.body)
    assert bot.runtime.store.list_open() == []


def test_list_shows_this_channels_watches(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16")
    bot.console.start_on_demand_scan("team/app", tag="1.0", registry="registry.example.com")
    bot.command("alpine:3.16")
    bot.command("registry.example.com/team/app:1.0", channel_id="C0OTHER")
    bot.slack.wait_for_responses(2)  # "Following …" replaces each ack

    bot.command("list")

    reply = bot.slack.wait_for_responses(3)[-1]
    text = json.dumps(reply.body)
    assert "alpine:3.16" in text
    assert "team/app" not in text


def test_stop_ends_the_watch_and_says_so_in_the_thread(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16")
    bot.command("alpine:3.16")
    bot.wait_for_active_watches(1)

    bot.command("stop alpine:3.16")

    bot.slack.wait_for_responses(2)  # "Following …", then the stop's answer
    assert bot.runtime.store.list_open() == []
    ts = bot.slack.messages(CHANNEL)[0]["ts"]
    assert any("stop" in json.dumps(m).lower() for m in bot.slack.thread(CHANNEL, ts))
    assert "stop_watch" not in json.dumps(bot.slack.messages(CHANNEL)[0])  # button gone


def test_the_stop_button_ends_the_watch(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16")
    bot.command("alpine:3.16")
    bot.wait_for_active_watches(1)
    (watch,) = bot.runtime.store.list_open()

    response = bot.click_stop(watch.id, message_ts=watch.parent_ts or "")

    assert response.status_code == 200
    bot.wait_until(lambda: bot.runtime.store.list_open() == [])
    finished = bot.runtime.store.get(watch.id)
    assert finished is not None
    assert finished.state is WatchState.STOPPED


def test_the_stop_button_from_another_channel_cannot_stop_a_watch(bot: BotHarness) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16")
    bot.command("alpine:3.16")
    bot.wait_for_active_watches(1)
    (watch,) = bot.runtime.store.list_open()

    bot.click_stop(watch.id, channel_id="C0ELSEWHERE")

    bot.slack.wait_for_responses(1)
    assert [w.id for w in bot.runtime.store.list_open()] == [watch.id]


def test_a_click_on_a_button_scanbot_does_not_know_is_acked_and_ignored(bot: BotHarness) -> None:
    """An old message's button or a forged payload: 200, nothing done, no console request."""
    asked = len(bot.console.requests)

    response = bot.click("regular scan failed", "42")

    assert response.status_code == 200
    assert len(bot.console.requests) == asked
    assert [c.method for c in bot.slack.calls if c.method != "auth.test"] == []


LOOK_ALIKES = "\u2217\u02cd\u223c\u02cb\u203a\u2024\ua789\uff20\uff03\u2236"


def test_the_bots_own_words_use_real_code_spans_and_real_characters(bot: BotHarness) -> None:
    """Fails before: the ack showed "e.g." with a U+2024 dot and the commands between
    U+02CB look-alike backticks, which a user cannot paste back."""
    response = bot.command("scan")

    shown = json.dumps(response.json(), ensure_ascii=False)
    assert "e.g. `scan alpine:3.16`" in shown
    assert "Type `/scanprogress help` for examples." in shown
    assert not set(shown) & set(LOOK_ALIKES)


def test_an_image_name_shown_by_the_bot_can_be_pasted_back(bot: BotHarness) -> None:
    """Fails before: the registry host was shown with U+2024 dots, refused when pasted
    back ("is not a host[:port]")."""
    bot.command("registry.example.com:5000/team/app:1.0")
    (reply,) = bot.slack.wait_for_responses(1)
    shown = json.dumps(reply.body, ensure_ascii=False)
    assert "`registry.example.com:5000/team/app:1.0`" in shown
    assert not set(shown) & set(LOOK_ALIKES)
