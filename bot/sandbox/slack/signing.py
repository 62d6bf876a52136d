"""Sign requests the way Slack does, and build the bodies Slack sends.

Tests and the demo use these to talk to scanbot's HTTP endpoint exactly like Slack:

* :func:`sign` / :func:`signed_headers` — ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``
  keyed with the app's signing secret (what ``slack_sdk.signature.SignatureVerifier`` checks).
* :func:`slash_command_body` — the raw ``application/x-www-form-urlencoded`` body of a
  slash command invocation.
* :func:`block_action_body` — the ``payload=<json>`` form body of a ``block_actions``
  interactivity request (a button click on a message).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

#: Identifiers Slack puts in every payload; fixed so tests can assert on them.
APP_ID = "A0SCANBOT"
TEAM_DOMAIN = "scanbot-test"
_VERIFICATION_TOKEN = "legacy-verification-token"  # noqa: S105 - deprecated, unused by Slack apps


def sign(signing_secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Slack-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(
    signing_secret: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """Headers of a signed Slack request; ``timestamp`` defaults to now."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(signing_secret, body, ts),
    }


def _channel_name(channel_id: str) -> str:
    return f"chan-{channel_id.lower()}"


def slash_command_body(
    *,
    command: str = "/scanprogress",
    text: str = "",
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    channel_id: str = "C0CHAN",
    team_id: str = "T0TEST",
    response_url: str = "",
    trigger_id: str = "1.2.3",
) -> bytes:
    """The urlencoded body Slack POSTs when a user runs ``command text``."""
    fields = [
        ("token", _VERIFICATION_TOKEN),
        ("team_id", team_id),
        ("team_domain", TEAM_DOMAIN),
        ("channel_id", channel_id),
        ("channel_name", _channel_name(channel_id)),
        ("user_id", user_id),
        ("user_name", user_name),
        ("command", command),
        ("text", text),
        ("api_app_id", APP_ID),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ]
    return urlencode(fields).encode("ascii")


def block_action_body(
    *,
    action_id: str,
    value: str,
    user_id: str = "U0ALICE",
    channel_id: str = "C0CHAN",
    message_ts: str = "",
    response_url: str = "",
    block_id: str = "b",
) -> bytes:
    """The ``payload=<json>`` body Slack POSTs when a user clicks a button on a message."""
    team_id = "T0TEST"
    action_ts = f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "alice", "name": "alice", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": _VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": "1.2.3",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": _channel_name(channel_id)},
        "message": {
            "type": "message",
            "ts": message_ts,
            "text": "",
            "user": "U0SCANBOT",
            "bot_id": "B0SCANBOT",
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("ascii")


def app_home_opened_body(*, user_id: str = "U0ALICE", tab: str = "home") -> bytes:
    """The Events API JSON body Slack POSTs when a user opens the app's Home (or Messages) tab."""
    team_id = "T0TEST"
    now = time.time()
    body: dict[str, Any] = {
        "token": _VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": {
            "type": "app_home_opened",
            "user": user_id,
            "channel": "D0SCANBOT",
            "tab": tab,
            "event_ts": f"{now:.6f}",
        },
        "type": "event_callback",
        "event_id": f"Ev{int(now * 1_000_000):X}",
        "event_time": int(now),
        "authorizations": [
            {
                "team_id": team_id,
                "user_id": "U0SCANBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()
