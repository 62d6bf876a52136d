"""The shape check of a signed Events API body (JSON), for :mod:`bot.slack.guard`.

Slack sends events as ``application/json``: ``url_verification`` once when the request URL
is set (bolt answers its challenge), then ``event_callback``\\ s.  Only the event types a
listener handles reach bolt, each with the fields that listener reads.
"""

from __future__ import annotations

import json
from typing import Any

#: The Events API event types scanbot's listeners handle (the manifest's ``bot_events``).
DEFAULT_EVENT_TYPES = frozenset({"app_home_opened"})


class EventRefused(ValueError):  # noqa: N818 - the guard turns it into its 400
    """The body is not an event scanbot handles; the message says why."""


def check_event(text: str, event_types: frozenset[str] = DEFAULT_EVENT_TYPES) -> None:
    """Raise :class:`EventRefused` unless ``text`` is an event body bolt can dispatch."""
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise EventRefused("body is not JSON") from None
    if not isinstance(body, dict):
        raise EventRefused("body is not a JSON object")
    kind = body.get("type")
    if kind == "url_verification":
        if not isinstance(body.get("challenge"), str):
            raise EventRefused("url_verification needs a challenge")
        return
    if kind != "event_callback":
        raise EventRefused("unsupported event body type")
    event: Any = body.get("event")
    if not isinstance(event, dict) or event.get("type") not in event_types:
        raise EventRefused("unsupported event type")
    if not isinstance(event.get("user"), str):
        raise EventRefused("event needs a user")
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        raise EventRefused("authorizations is not a list of objects")
