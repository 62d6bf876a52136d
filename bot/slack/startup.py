"""Slack at start-up: the bot token verified before anything is opened, and Socket Mode's
refusal told as a setting to fix.  Errors come out as :class:`SettingsError` (exit 3) or
:class:`SlackUnreachable` (exit 4), never as Slack's own exceptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from slack_sdk.errors import SlackApiError

from bot.config.settings import Settings, SettingsError
from bot.slack.app import build_web_client

T = TypeVar("T")


class SlackUnreachable(Exception):  # noqa: N818 - reads as a state
    """``auth.test`` could not reach Slack at SLACK_API_URL."""


def _code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "unknown error")) if exc.response else "unknown error"


def verify_bot_token(settings: Settings) -> None:
    """``auth.test``: raise :class:`SettingsError` for a refused token and
    :class:`SlackUnreachable` when Slack cannot be reached at SLACK_API_URL."""
    client = build_web_client(settings)
    try:
        client.auth_test()
    except SlackApiError as exc:
        raise SettingsError(
            f"SLACK_BOT_TOKEN was rejected by Slack ({_code(exc)}); check the bot token on the "
            "Slack app's 'OAuth & Permissions' page and SLACK_API_URL"
        ) from None
    except OSError as exc:  # URLError, timeouts, refused connections
        reason = getattr(exc, "reason", None) or exc
        raise SlackUnreachable(
            f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url} ({reason}); check "
            "SLACK_API_URL, the network and any HTTPS proxy (HTTPS_PROXY)"
        ) from None


def socket_mode_refusal_as_setting(start: Callable[[], T]) -> T:
    """Run ``start``; Slack refusing the Socket Mode connection (``apps.connections.open``)
    becomes a :class:`SettingsError` naming SLACK_APP_TOKEN."""
    try:
        return start()
    except SlackApiError as exc:
        raise SettingsError(
            f"Slack refused the Socket Mode connection ({_code(exc)}); check SLACK_APP_TOKEN "
            "(an xapp- app-level token with the connections:write scope)"
        ) from None
