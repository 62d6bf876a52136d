"""The guard's shape check of signed Events API bodies (JSON)."""

from __future__ import annotations

import json

import pytest

from bot.sandbox.slack.signing import app_home_opened_body
from bot.slack.guard import RefusedError, check_shape

JSON = "application/json"


def test_app_home_opened_and_url_verification_pass_to_bolt() -> None:
    body = app_home_opened_body(user_id="U0ALICE")
    assert check_shape(body, JSON) == body
    challenge = json.dumps({"type": "url_verification", "challenge": "abc", "token": "t"})
    assert check_shape(challenge.encode(), JSON) == challenge.encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not JSON"),
        (b"[]", "body is not a JSON object"),
        (b'{"type": "block_actions"}', "unsupported event body type"),
        (b'{"type": "event_callback", "event": {"type": "message"}}', "unsupported event type"),
        (b'{"type": "event_callback", "event": {"type": "app_home_opened"}}', "needs a user"),
        (b'{"type": "url_verification"}', "needs a challenge"),
    ],
)
def test_other_json_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(RefusedError) as refused:
        check_shape(body, JSON)
    assert refused.value.status == 400
    assert reason in refused.value.reason


def test_an_event_as_a_form_is_still_refused() -> None:
    with pytest.raises(RefusedError):
        check_shape(app_home_opened_body(), "application/x-www-form-urlencoded")
