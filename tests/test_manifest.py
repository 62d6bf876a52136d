"""manifest.yml and manifest.socket-mode.yml are valid Slack app manifests that match the
listeners the bot registers: every command and interaction they declare has a handler, and
every handler is declared."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from jsonschema import Draft7Validator
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from bot.process.workqueue import WorkQueue
from bot.sandbox.slack import SlackApiStandIn
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from bot.slack.listeners import register_listeners
from bot.watcher.lifecycle import WatchContext

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "reference" / "slack-app-manifest.schema.1.0.0.json"
MANIFESTS = ("manifest.yml", "manifest.socket-mode.yml")
SECRET = "manifest-test-signing-secret"


def manifest(name: str = "manifest.yml") -> dict[str, Any]:
    data = yaml.safe_load((ROOT / name).read_text())
    assert isinstance(data, dict)
    return data


def bolt_app(client: WebClient | None = None) -> App:
    """A bolt app with exactly the listeners scanbot registers (nothing runs at registration)."""
    app = App(
        client=client or WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/api/"),
        signing_secret=SECRET,
        token_verification_enabled=False,
    )
    register_listeners(app, cast(WatchContext, None), WorkQueue(threads=1, capacity=1))
    return app


def registered() -> dict[str, set[str]]:
    """Listener kind ("command", "action", "shortcut", "view", …) → the ids it matches.

    Read from bolt's built-in matchers: each is a closure over the id it was given.
    """
    found: dict[str, set[str]] = {}
    for listener in bolt_app()._listeners:
        for matcher in listener.matchers:
            func = getattr(matcher, "func", None)
            if func is None or func.__closure__ is None:
                continue
            kind = func.__qualname__.split(".")[0]
            for cell in func.__closure__:
                value = cell.cell_contents
                if isinstance(value, re.Pattern):
                    value = value.pattern
                if isinstance(value, dict):
                    value = str(value.get("action_id") or value.get("callback_id") or value)
                if isinstance(value, str):
                    found.setdefault(kind, set()).add(value)
    return found


@pytest.mark.skipif(not SCHEMA.exists(), reason="Slack's manifest schema (shared/) not present")
@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_validates_against_slacks_schema(name: str) -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(manifest(name)), key=str)
    assert errors == [], "\n".join(e.message for e in errors)


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_declared_command_has_a_handler_and_every_handler_is_declared(name: str) -> None:
    declared = {c["command"] for c in manifest(name)["features"]["slash_commands"]}
    assert declared == registered().get("command", set())


@pytest.mark.parametrize("name", MANIFESTS)
def test_interactivity_is_declared_exactly_when_the_bot_handles_interactions(name: str) -> None:
    handlers = registered()
    interactive = {"action", "shortcut", "view", "options"} & handlers.keys()
    assert handlers.get("action"), "the Stop watching button has a handler"
    assert manifest(name)["settings"]["interactivity"]["is_enabled"] is bool(interactive)
    shortcuts = {s["callback_id"] for s in manifest(name)["features"].get("shortcuts", [])}
    assert shortcuts == handlers.get("shortcut", set())


@pytest.mark.parametrize("name", MANIFESTS)
def test_each_declared_command_is_routed_to_a_listener(name: str) -> None:
    with SlackApiStandIn(token="xoxb-bot").start() as slack:
        app = bolt_app(WebClient(token="xoxb-bot", base_url=slack.api_url))
        for command in manifest(name)["features"]["slash_commands"]:
            body = slash_command_body(command=command["command"], text="help")
            headers: dict[str, str | Sequence[str]] = dict(signed_headers(SECRET, body))
            response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
            assert response.status == 200, response.body


def test_http_manifest_sends_everything_to_the_events_path() -> None:
    data = manifest()
    assert data["settings"]["socket_mode_enabled"] is False
    for command in data["features"]["slash_commands"]:
        assert command["url"].startswith("https://")
        assert command["url"].endswith("/slack/events")
    assert data["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert data["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_home_tab_and_its_event_are_declared_and_handled(name: str) -> None:
    data = manifest(name)
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    declared = set(data["settings"]["event_subscriptions"]["bot_events"])
    assert declared == {"app_home_opened"}
    assert declared == registered().get("event", set())


def test_socket_mode_manifest_differs_only_in_socket_mode_and_request_urls() -> None:
    http, socket = manifest(), manifest("manifest.socket-mode.yml")
    assert socket["settings"]["socket_mode_enabled"] is True
    for command in socket["features"]["slash_commands"]:
        command.setdefault("url", None)
    for command in http["features"]["slash_commands"]:
        command["url"] = None
    http["settings"]["interactivity"].pop("request_url")
    http["settings"]["event_subscriptions"].pop("request_url")
    http["settings"]["socket_mode_enabled"] = True
    assert http == socket


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_asks_only_for_the_scopes_the_bot_uses(name: str) -> None:
    scopes = set(manifest(name)["oauth_config"]["scopes"]["bot"])
    # commands: /scanprogress; chat:write: parent, edits, replies; channels/groups:history:
    # conversations.history finds a parent posted just before a crash (public/private
    # channels).  No im/mpim:history: in a DM the lookup fails soft and the parent is reposted.
    # users:read: users.info tells whether a watch's starter has left the workspace.
    assert scopes == {"commands", "chat:write", "channels:history", "groups:history", "users:read"}
