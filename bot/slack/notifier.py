"""The Slack side of the notifier boundary: events become Block Kit messages in threads.

:class:`SlackNotifier` implements :class:`bot.watcher.services.Notifier`.  It chooses the message
(the pure builders in :mod:`bot.slack.blocks`) and the Web API call that carries it, and
turns Slack's errors into the domain's :class:`~bot.domain.events.DeliveryError` subclasses, so
nothing outside :mod:`bot.slack` sees a Slack type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.delivery.budget import BudgetExhaustedError
from bot.domain.events import (
    ContentRejected,
    DeliveryFailed,
    Destination,
    DestinationGone,
    Event,
    MessageGone,
    NotAuthorized,
    ParentView,
)
from bot.slack import blocks

log = logging.getLogger(__name__)

#: Slack errors meaning the bot cannot post in that channel at all; retrying will not help.
CHANNEL_GONE_ERRORS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "team_access_not_granted",
    }
)

#: Slack errors meaning the parent message is gone or can no longer be edited or replied to.
PARENT_GONE_ERRORS = frozenset(
    {"message_not_found", "cant_update_message", "edit_window_closed", "thread_not_found"}
)

#: Errors meaning Slack refuses this message's content; a plain-text version may pass.
CONTENT_REJECTED_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "invalid_attachments",
        "too_many_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
    }
)

#: Errors meaning our token can do nothing until an operator fixes it.
NOT_AUTHORIZED_ERRORS = frozenset(
    {
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
    }
)

#: Errors of conversations.history/replies meaning "cannot look"; the message is sent anew.
HISTORY_UNAVAILABLE_ERRORS = CHANNEL_GONE_ERRORS | {"missing_scope", "not_allowed_token_type"}

#: How far around a message's creation to look for it, and how many pages to read.
SEARCH_MARGIN_SECONDS = 600.0
SEARCH_PAGES = 20

#: Metadata event type on every message scanbot posts; its payload names the outbox key.
MESSAGE_EVENT_TYPE = "scanbot_message"


def slack_error_code(exc: SlackApiError) -> str:
    """The ``error`` field of a failed Web API call (``""`` when absent)."""
    data: Any = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error", ""))
    return ""


def _retry_after(exc: SlackApiError) -> float | None:
    headers: Any = getattr(exc.response, "headers", None) or {}
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if hasattr(headers, "get") else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


@contextmanager
def delivery_errors() -> Iterator[None]:
    """Translate Slack's failures into the domain's :class:`~bot.domain.events.DeliveryError`."""
    try:
        yield
    except SlackApiError as exc:
        code = slack_error_code(exc)
        if code in CHANNEL_GONE_ERRORS:
            raise DestinationGone(f"Slack refused the channel: {code}", code=code) from exc
        if code in PARENT_GONE_ERRORS:
            raise MessageGone(f"Slack refused the message: {code}", code=code) from exc
        if code in CONTENT_REJECTED_ERRORS:
            raise ContentRejected(f"Slack refused the content: {code}", code=code) from exc
        if code in NOT_AUTHORIZED_ERRORS:
            raise NotAuthorized(f"Slack refused the token: {code}", code=code) from exc
        status = getattr(exc.response, "status_code", 0)
        raise DeliveryFailed(
            f"Slack call failed: {code or f'HTTP {status}'}",
            code=code or f"http_{status}",
            retry_after=_retry_after(exc) if code == "ratelimited" or status == 429 else None,
        ) from exc
    except BudgetExhaustedError as exc:  # our own budget of Slack's rate limits had no room
        raise DeliveryFailed(f"Slack call not made: {exc}", code="over_budget") from exc
    except SlackClientError as exc:  # connection errors and the like, after retries
        raise DeliveryFailed(f"Slack could not be reached: {exc}", code="unreachable") from exc
    except OSError as exc:  # urllib's socket-level errors (timeouts, resets)
        raise DeliveryFailed(f"Slack could not be reached: {exc}", code="unreachable") from exc


def _metadata(marker: str) -> dict[str, Any]:
    return {"event_type": MESSAGE_EVENT_TYPE, "event_payload": {"key": marker}}


def _has_marker(message: object, marker: str) -> bool:
    if not isinstance(message, dict):
        return False
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
    return (
        isinstance(payload, dict)
        and metadata.get("event_type") == MESSAGE_EVENT_TYPE
        and payload.get("key") == marker
    )


class SlackNotifier:
    """Posts and edits parent messages and thread replies with one ``WebClient``."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post_parent(
        self, channel_id: str, view: ParentView, *, marker: str, plain: bool = False
    ) -> Destination:
        """Post the parent message in ``channel_id``; returns its thread."""
        message = blocks.parent_message(view)
        with delivery_errors():
            response = self._client.chat_postMessage(
                channel=channel_id,
                unfurl_links=False,
                unfurl_media=False,
                metadata=_metadata(marker),
                **(message.plain_kwargs() if plain else message.as_kwargs()),
            )
        return Destination(channel_id=channel_id, thread_ts=str(response["ts"]))

    def find_parent(self, channel_id: str, marker: str, *, since: datetime) -> Destination | None:
        """The thread of a parent message posted with ``marker``, if Slack has one.

        Used when a send's outcome was lost (timeout, crash) so the message is adopted
        instead of posted twice.  Needs the ``channels:history`` / ``groups:history``
        scopes; without them it finds nothing and the message is posted again.
        """
        oldest = since.timestamp() - SEARCH_MARGIN_SECONDS
        ts = self._search(
            lambda cursor: self._client.conversations_history(
                channel=channel_id,
                oldest=f"{oldest:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            ),
            marker,
        )
        return None if ts is None else Destination(channel_id=channel_id, thread_ts=ts)

    def find_reply(self, destination: Destination, marker: str) -> str | None:
        """The ``ts`` of a reply posted with ``marker`` in the thread, if Slack has one."""
        if destination.thread_ts is None:
            return None
        thread_ts = destination.thread_ts
        return self._search(
            lambda cursor: self._client.conversations_replies(
                channel=destination.channel_id,
                ts=thread_ts,
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            ),
            marker,
        )

    def _search(self, page: Callable[[str | None], Any], marker: str) -> str | None:
        cursor: str | None = None
        for _ in range(SEARCH_PAGES):
            try:
                with delivery_errors():
                    response = page(cursor)
            except (DestinationGone, NotAuthorized) as exc:
                if exc.code in HISTORY_UNAVAILABLE_ERRORS:
                    return None
                raise
            for message in response.get("messages") or []:
                if _has_marker(message, marker):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or cursor is None:
                return None
        return None

    def update_parent(self, destination: Destination, view: ParentView) -> None:
        """Edit the parent message in place to show ``view``."""
        if destination.thread_ts is None:
            return
        message = blocks.parent_message(view)
        with delivery_errors():
            self._client.chat_update(
                channel=destination.channel_id, ts=destination.thread_ts, **message.as_kwargs()
            )

    def notify(
        self, destination: Destination, event: Event, *, marker: str, plain: bool = False
    ) -> str:
        """Post the message telling ``event`` in the destination's thread; returns its ts."""
        if destination.thread_ts is None:
            raise MessageGone("the thread has no parent message", code="no_parent")
        message = blocks.thread_message(event)
        with delivery_errors():
            response = self._client.chat_postMessage(
                channel=destination.channel_id,
                thread_ts=destination.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata=_metadata(marker),
                **(message.plain_kwargs() if plain else message.as_kwargs()),
            )
        return str(response["ts"])
