"""manifest.yml is a valid Slack app manifest that matches what the bot serves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "reference" / "slack-app-manifest.schema.1.0.0.json"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.skipif(not SCHEMA.exists(), reason="Slack's manifest schema (shared/) not present")
def test_manifest_validates_against_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(manifest()), key=str)
    assert errors == [], "\n".join(e.message for e in errors)


def test_manifest_declares_the_command_and_interactivity_on_the_events_path() -> None:
    data = manifest()
    (command,) = data["features"]["slash_commands"]
    assert command["command"] == "/scanprogress"
    assert command["url"].endswith("/slack/events")
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["interactivity"]["request_url"].endswith("/slack/events")


def test_manifest_asks_for_the_scopes_the_bot_uses() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    # commands: /scanprogress; chat:write: parent, updates, replies;
    # *:history: find a parent message posted just before a crash (no duplicates).
    assert {"commands", "chat:write", "channels:history", "groups:history"} <= scopes
