"""The Slack side of the notifier boundary: events become Block Kit messages in threads.

:class:`SlackNotifier` implements :class:`bot.services.Notifier`.  It chooses the message
(the pure builders in :mod:`bot.slack.blocks`) and the Web API call that carries it, and
turns Slack's errors into the domain's :class:`~bot.notify.DeliveryError` subclasses, so
nothing outside :mod:`bot.slack` sees a Slack type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.notify import (
    DeliveryFailed,
    Destination,
    DestinationGone,
    Event,
    MessageGone,
    ParentView,
    Subject,
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

#: Errors of conversations.history meaning "cannot look", after which the parent is posted anew.
HISTORY_UNAVAILABLE_ERRORS = CHANNEL_GONE_ERRORS | {"missing_scope", "not_allowed_token_type"}

#: How far after a watch's creation its parent can have been posted (the listener's
#: console request and Slack retries), and how many history pages to read looking for it.
PARENT_SEARCH_WINDOW = 600.0
PARENT_SEARCH_PAGES = 20

#: Metadata event type on parent messages, so a message can be traced to its watch.
WATCH_EVENT_TYPE = "scanbot_watch"


def slack_error_code(exc: SlackApiError) -> str:
    """The ``error`` field of a failed Web API call (``""`` when absent)."""
    data: Any = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error", ""))
    return ""


@contextmanager
def delivery_errors() -> Iterator[None]:
    """Translate Slack's failures into the domain's :class:`~bot.notify.DeliveryError`."""
    try:
        yield
    except SlackApiError as exc:
        code = slack_error_code(exc)
        if code in CHANNEL_GONE_ERRORS:
            raise DestinationGone(f"Slack refused the channel: {code}", code=code) from exc
        if code in PARENT_GONE_ERRORS:
            raise MessageGone(f"Slack refused the message: {code}", code=code) from exc
        raise DeliveryFailed(f"Slack call failed: {code or exc}", code=code) from exc
    except SlackClientError as exc:  # connection errors and the like, after retries
        raise DeliveryFailed(f"Slack could not be reached: {exc}", code="unreachable") from exc
    except OSError as exc:  # urllib's socket-level errors that slack_sdk lets through
        raise DeliveryFailed(f"Slack could not be reached: {exc}", code="unreachable") from exc


class SlackNotifier:
    """Posts and edits parent messages and thread replies with one ``WebClient``."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post_parent(self, channel_id: str, view: ParentView) -> Destination:
        """Post the parent message in ``channel_id``; returns its thread."""
        message = blocks.watch_parent(view)
        with delivery_errors():
            response = self._client.chat_postMessage(
                channel=channel_id,
                unfurl_links=False,
                unfurl_media=False,
                metadata={
                    "event_type": WATCH_EVENT_TYPE,
                    "event_payload": {
                        "watch_id": view.subject.watch_id,
                        "image": view.subject.target.key,
                    },
                },
                **message.as_kwargs(),
            )
        return Destination(channel_id=channel_id, thread_ts=str(response["ts"]))

    def find_parent(self, channel_id: str, subject: Subject) -> Destination | None:
        """The thread of a parent message already posted for ``subject``, if Slack has one.

        Used after a crash between posting the parent and recording its ``ts``, so the
        restarted bot adopts that message instead of posting a duplicate.  Needs the
        ``channels:history`` / ``groups:history`` scopes; without them it finds nothing.
        """
        oldest = subject.since.timestamp() - 300
        latest = subject.since.timestamp() + PARENT_SEARCH_WINDOW

        def matches(message: dict[str, Any]) -> bool:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            return bool(
                metadata.get("event_type") == WATCH_EVENT_TYPE
                and payload.get("watch_id") == subject.watch_id
            )

        ts = self._search_history(channel_id, oldest, latest, matches)
        return None if ts is None else Destination(channel_id=channel_id, thread_ts=ts)

    def _search_history(
        self,
        channel_id: str,
        oldest: float,
        latest: float,
        matches: Callable[[dict[str, Any]], bool],
    ) -> str | None:
        cursor: str | None = None
        for _ in range(PARENT_SEARCH_PAGES):
            try:
                with delivery_errors():
                    response = self._client.conversations_history(
                        channel=channel_id,
                        oldest=f"{oldest:.6f}",
                        latest=f"{latest:.6f}",
                        include_all_metadata=True,
                        limit=200,
                        cursor=cursor,
                    )
            except (DestinationGone, DeliveryFailed) as exc:
                if exc.code in HISTORY_UNAVAILABLE_ERRORS:
                    return None
                raise
            for message in response.get("messages") or []:
                if isinstance(message, dict) and matches(message):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or cursor is None:
                return None
        return None

    def update_parent(self, destination: Destination, view: ParentView) -> None:
        """Edit the parent message in place to show ``view``."""
        if destination.thread_ts is None:
            return
        message = blocks.watch_parent(view)
        with delivery_errors():
            self._client.chat_update(
                channel=destination.channel_id, ts=destination.thread_ts, **message.as_kwargs()
            )

    def notify(self, destination: Destination, event: Event) -> None:
        """Post the message telling ``event`` in the destination's thread."""
        if destination.thread_ts is None:
            return
        message = blocks.thread_message(event)
        with delivery_errors():
            self._client.chat_postMessage(
                channel=destination.channel_id,
                thread_ts=destination.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                **message.as_kwargs(),
            )
