"""One outbox message to the notifier: the call that sends it, the lookup that finds it."""

from __future__ import annotations

from typing import assert_never

from bot.domain.events import Destination
from bot.domain.owed import Kind
from bot.domain.ports import Notifier
from bot.store import codec
from bot.store.outbox import OutboxEntry


def found_earlier(notifier: Notifier, entry: OutboxEntry, destination: Destination) -> str | None:
    """The ts of ``entry`` if an earlier attempt reached Slack after all (edits: never
    looked for, they are idempotent)."""
    match entry.kind:
        case Kind.PARENT:
            found = notifier.find_parent(destination.channel_id, entry.key, since=entry.created_at)
            return None if found is None else found.thread_ts
        case Kind.REPLY:
            return notifier.find_reply(destination, entry.key)
        case Kind.EDIT:
            return None  # edits are idempotent: just send again
        case _:
            assert_never(entry.kind)


def send(
    notifier: Notifier, entry: OutboxEntry, destination: Destination, *, plain: bool
) -> str | None:
    """Send ``entry``; the ts of a posted message (``None`` for an edit)."""
    match entry.kind:
        case Kind.PARENT:
            view = codec.load_view(entry.body)
            posted = notifier.post_parent(
                destination.channel_id, view, marker=entry.key, plain=plain
            )
            return posted.thread_ts
        case Kind.EDIT:
            notifier.update_parent(destination, codec.load_view(entry.body))
            return None
        case Kind.REPLY:
            event = codec.load_event(entry.body)
            return notifier.notify(destination, event, marker=entry.key, plain=plain)
        case _:
            assert_never(entry.kind)
