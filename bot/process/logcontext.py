"""Structured log fields set once at a boundary and carried by every log line under it.

A boundary (a Slack request, one watch's work in a poll cycle, one thread's delivery) sets
fields such as ``channel``, ``user``, ``image``, ``watch_id`` or ``thread`` with
:func:`log_context`; :class:`ContextFieldsFilter` copies them onto every log record made
inside it, so JSON lines carry them as fields (not only inside the message text) without
each log call naming them.  The fields live in a :mod:`contextvars` variable: they follow the
code into work handed to :class:`bot.process.workqueue.WorkQueue` (it runs each piece in the
context it was submitted from) and never leak between threads.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType

#: The fields the log lines may carry (anything else passed in is ignored).
FIELDS = ("channel", "user", "image", "watch_id", "thread", "outcome", "duration_ms")

_EMPTY: Mapping[str, object] = MappingProxyType({})
_fields: ContextVar[Mapping[str, object]] = ContextVar("scanbot_log_fields", default=_EMPTY)


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Within the block, log records carry ``fields`` (``None`` values and unknown names are
    left out; inner blocks add to and override outer ones)."""
    wanted = {key: value for key, value in fields.items() if key in FIELDS and value is not None}
    token = _fields.set(MappingProxyType({**_fields.get(), **wanted}))
    try:
        yield
    finally:
        _fields.reset(token)


def request_fields(**fields: object) -> None:
    """Start a request's fields: they replace whatever the running context had, and last
    until the context ends (each HTTP request to the bot runs in a context of its own).

    For entry points that cannot wrap the work in a ``with`` block (bolt's middleware
    returns before the listener runs).
    """
    wanted = {key: value for key, value in fields.items() if key in FIELDS and value is not None}
    _fields.set(MappingProxyType(wanted))


def current_fields() -> Mapping[str, object]:
    """The fields set for the running code now."""
    return _fields.get()


#: The record attribute holding the fields (``thread`` cannot be a record attribute of its
#: own: every LogRecord already has one, the thread's id).
RECORD_ATTRIBUTE = "scanbot_fields"


class ContextFieldsFilter(logging.Filter):
    """Puts the current :func:`log_context` fields on each record, under
    :data:`RECORD_ATTRIBUTE`; the JSON formatter writes them as top-level fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _fields.get()
        if fields and not hasattr(record, RECORD_ATTRIBUTE):
            setattr(record, RECORD_ATTRIBUTE, fields)
        return True
