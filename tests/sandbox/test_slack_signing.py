"""Slack request signing and the bodies Slack sends, checked with slack_sdk's verifier."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from bot.sandbox.slack.signing import (
    block_action_body,
    sign,
    signed_headers,
    slash_command_body,
)

# --- signing --------------------------------------------------------------------------------


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def test_signature_is_accepted_by_slack_sdk_verifier() -> None:
    body = slash_command_body(text="nginx:1.27")
    headers = signed_headers(SECRET, body, timestamp=1_700_000_000)
    verifier = SignatureVerifier(SECRET, clock=_FixedClock(1_700_000_010))
    assert verifier.is_valid_request(body, headers)
    assert headers["X-Slack-Signature"] == sign(SECRET, body, 1_700_000_000)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_signed_headers_default_to_now() -> None:
    body = b"a=b"
    assert SignatureVerifier(SECRET).is_valid_request(body, signed_headers(SECRET, body))


def test_verifier_rejects_old_timestamp_tampered_body_and_wrong_secret() -> None:
    body = slash_command_body(text="nginx:1.27")
    verifier = SignatureVerifier(SECRET, clock=_FixedClock(1_700_000_000))
    stale = signed_headers(SECRET, body, timestamp=1_700_000_000 - 301)
    fresh = signed_headers(SECRET, body, timestamp=1_700_000_000)
    assert not verifier.is_valid_request(body, stale)
    assert not verifier.is_valid_request(body.replace(b"nginx", b"redis"), fresh)
    assert not verifier.is_valid_request(
        body, signed_headers("other", body, timestamp=1_700_000_000)
    )


def test_slash_command_body_has_slacks_fields_in_order() -> None:
    body = slash_command_body(
        text="nginx:1.27 --watch", channel_id="C9", response_url="http://127.0.0.1:1/response/r"
    )
    fields = parse_qs(body.decode(), keep_blank_values=True)
    assert list(fields) == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id",
        "user_name", "command", "text", "api_app_id", "is_enterprise_install",
        "response_url", "trigger_id",
    ]  # fmt: skip
    assert fields["command"] == ["/scanprogress"]
    assert fields["text"] == ["nginx:1.27 --watch"]
    assert fields["channel_id"] == ["C9"]
    assert fields["response_url"] == ["http://127.0.0.1:1/response/r"]
    assert b"%2Fscanprogress" in body


def test_block_action_body_is_a_block_actions_payload() -> None:
    body = block_action_body(
        action_id="stop_watch", value="42", message_ts="1700000000.000100", channel_id="C9"
    )
    (raw,) = parse_qs(body.decode())["payload"]
    payload = json.loads(raw)
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C9",
        "is_ephemeral": False,
    }
    assert payload["channel"]["id"] == "C9"
    assert payload["message"]["ts"] == "1700000000.000100"
    (action,) = payload["actions"]
    assert (action["action_id"], action["value"], action["type"]) == ("stop_watch", "42", "button")
    assert payload["user"]["id"] == "U0ALICE"
