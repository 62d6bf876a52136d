"""Messages owed to a thread, as the watcher decides them (before the outbox stores them).

A thread is named by a key (``watch:17``); every message has its own unique ``key`` so that
deciding the same thing twice — after a crash, or by two racing callers — owes it once.
Kinds: the ``parent`` message opens the thread; ``edit`` shows a newer parent view (only the
latest pending edit is sent); ``reply`` tells an event in the thread.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.events import Event, ParentView


class Kind(StrEnum):
    PARENT = "parent"
    EDIT = "edit"
    REPLY = "reply"


#: Priorities: lower goes first when many threads have messages due (completions first).
FINAL_PRIORITY = 0
NORMAL_PRIORITY = 1


@dataclass(frozen=True, slots=True)
class Owed:
    key: str
    thread_key: str
    channel_id: str
    kind: Kind
    body: Event | ParentView
    priority: int = NORMAL_PRIORITY


def watch_thread(watch_id: int) -> str:
    """The thread key of a watch."""
    return f"watch:{watch_id}"


def regular_thread(run_id: int) -> str:
    """The thread key of a subscribed channel's run of one regular scan."""
    return f"regular:{run_id}"


def once(thread_key: str, channel_id: str, event: Event, *, name: str) -> Owed:
    """A reply owed once under ``name`` (e.g. ``stalled:2``): deciding it again owes nothing."""
    return Owed(f"{thread_key}:{name}", thread_key, channel_id, Kind.REPLY, event)


def parent(thread_key: str, channel_id: str, view: ParentView) -> Owed:
    """The message that opens ``thread_key`` (owed once, whoever decides it again)."""
    return Owed(f"{thread_key}:parent", thread_key, channel_id, Kind.PARENT, view)


def edit(thread_key: str, channel_id: str, view: ParentView, *, final: bool = False) -> Owed:
    """Show ``view`` in the parent; a final edit is owed once."""
    key = f"{thread_key}:final-edit" if final else f"{thread_key}:edit:{uuid.uuid4().hex}"
    priority = FINAL_PRIORITY if final else NORMAL_PRIORITY
    return Owed(key, thread_key, channel_id, Kind.EDIT, view, priority)


def reply(thread_key: str, channel_id: str, event: Event, *, final: bool = False) -> Owed:
    """Tell ``event`` in the thread; a final reply (the end of a watch) is owed once."""
    key = f"{thread_key}:final" if final else f"{thread_key}:reply:{uuid.uuid4().hex}"
    priority = FINAL_PRIORITY if final else NORMAL_PRIORITY
    return Owed(key, thread_key, channel_id, Kind.REPLY, event, priority)
