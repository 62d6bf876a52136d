"""Posting a watch's messages to Slack: the parent message and replies in its thread.

Thin on purpose: the content comes from the pure builders in :mod:`bot.slack.blocks`;
this module only knows which Web API method carries it and where.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.progress import ProgressSnapshot
from bot.slack import blocks
from bot.slack.message import SlackMessage
from bot.watch import Watch

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


def channel_gone(exc: SlackApiError) -> bool:
    return slack_error_code(exc) in CHANNEL_GONE_ERRORS


def parent_gone(exc: SlackApiError) -> bool:
    return slack_error_code(exc) in PARENT_GONE_ERRORS


class WatchPoster:
    """Posts and edits one watch's messages."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post_parent(self, watch: Watch, snap: ProgressSnapshot, *, now: datetime) -> str:
        """Post the parent message in the watch's channel; returns its ``ts``."""
        message = blocks.watch_parent(watch, snap, now=now)
        response = self._client.chat_postMessage(
            channel=watch.channel_id,
            unfurl_links=False,
            unfurl_media=False,
            metadata={
                "event_type": WATCH_EVENT_TYPE,
                "event_payload": {"watch_id": watch.id, "image": watch.target.key},
            },
            **message.as_kwargs(),
        )
        return str(response["ts"])

    def find_parent(self, watch: Watch) -> str | None:
        """The ``ts`` of a parent message already posted for ``watch``, if Slack has one.

        Used after a crash between posting the parent and recording its ``ts``, so the
        restarted bot adopts that message instead of posting a duplicate.  Needs the
        ``channels:history`` / ``groups:history`` scopes; without them it finds nothing.
        """
        oldest = watch.created_at.timestamp() - 300
        latest = watch.created_at.timestamp() + PARENT_SEARCH_WINDOW
        cursor: str | None = None
        for _ in range(PARENT_SEARCH_PAGES):
            try:
                response = self._client.conversations_history(
                    channel=watch.channel_id,
                    oldest=f"{oldest:.6f}",
                    latest=f"{latest:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            except SlackApiError as exc:
                if slack_error_code(exc) in HISTORY_UNAVAILABLE_ERRORS:
                    return None
                raise
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == WATCH_EVENT_TYPE
                    and payload.get("watch_id") == watch.id
                ):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or cursor is None:
                return None
        return None

    def update_parent(self, watch: Watch, snap: ProgressSnapshot, *, now: datetime) -> None:
        """Edit the parent message in place to show ``snap``."""
        if watch.parent_ts is None:
            return
        message = blocks.watch_parent(watch, snap, now=now)
        self._client.chat_update(
            channel=watch.channel_id, ts=watch.parent_ts, **message.as_kwargs()
        )

    def reply(self, watch: Watch, message: SlackMessage) -> None:
        """Post ``message`` in the parent message's thread."""
        if watch.parent_ts is None:
            return
        self._client.chat_postMessage(
            channel=watch.channel_id,
            thread_ts=watch.parent_ts,
            unfurl_links=False,
            unfurl_media=False,
            **message.as_kwargs(),
        )
