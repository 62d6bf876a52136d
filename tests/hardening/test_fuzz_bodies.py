"""Red team, slow: signed request bodies of every shape through the real HTTP handler.

Whatever a signed body holds — odd JSON in ``payload=``, odd form fields, raw bytes —
the answer is a 200, 400 or 404 (bolt's "unhandled"), never a 500, and nothing is logged
with a traceback.  ``response_url`` only ever points at the Slack stand-in (no network).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.slack.signing import signed_headers
from tests.hardening.support import guarded_bot
from tests.support.harness import SIGNING_SECRET

EXAMPLES = 3000

_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_ids = st.text(max_size=12) | _json


def _payloads(response_url: str) -> st.SearchStrategy[dict[str, Any]]:
    action = st.fixed_dictionaries(
        {"action_id": st.sampled_from(["stop_watch", "other"]) | _json},
        optional={"value": st.sampled_from(["1", "0", "-1", "x" * 40]) | _json, "block_id": _json},
    )
    return st.fixed_dictionaries(
        {"type": st.sampled_from(["block_actions", "view_submission", "shortcut"]) | _json},
        optional={
            "actions": st.lists(action, max_size=3) | _json,
            "user": st.fixed_dictionaries({"id": _ids}) | _json,
            "team": st.fixed_dictionaries({"id": _ids}) | _json,
            "channel": st.fixed_dictionaries({"id": _ids}) | _json,
            "enterprise": _json,
            "authorizations": _json,
            "container": _json,
            "message": _json,
            "event": _json,
            "view": _json,
            "response_urls": _json,
            "response_url": st.just(response_url),
            "is_enterprise_install": _json,
        },
    )


def _commands(response_url: str) -> st.SearchStrategy[dict[str, str]]:
    text = st.text(max_size=60)
    return st.fixed_dictionaries(
        {"command": st.sampled_from(["/scanprogress", "/other"]) | text},
        optional={
            "text": st.sampled_from(["help", "alpine:3.16", "stop", "list", ""]) | text,
            "user_id": text,
            "channel_id": text,
            "team_id": text,
            "trigger_id": text,
            "response_url": st.just(response_url),
            "is_enterprise_install": text,
        },
    )


@pytest.mark.slow
def test_no_signed_body_makes_the_handler_fail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with guarded_bot(tmp_path) as bot, httpx.Client(timeout=10) as http:
        hook = bot.slack.response_url("fuzz")
        bodies = (
            _payloads(hook).map(lambda p: urlencode({"payload": json.dumps(p)}).encode())
            | _commands(hook).map(lambda f: urlencode(f).encode())
            | st.binary(max_size=200)
        )

        sent: list[bytes] = []

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            database=None,
        )
        @given(body=bodies)
        def one(body: bytes) -> None:
            sent.append(body)
            headers = signed_headers(SIGNING_SECRET, body)
            response = http.post(f"{bot.url}/slack/events", content=body, headers=headers)
            assert response.status_code in (200, 400, 404), (response.status_code, body[:300])

        one()
        threading.Event().wait(2.0)  # listeners still running after their ack finish
        failures = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
        assert failures == [], [r.getMessage() for r in failures]
