"""Shared values of the Slack stand-in tests."""

from __future__ import annotations

TOKEN = "xoxb-test-token"
