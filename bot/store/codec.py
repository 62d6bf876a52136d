"""Domain events, parent views, follow states and progress snapshots <-> JSON, for the store.

A small, explicit codec over frozen dataclasses: every dataclass is written with a
``"type"`` tag and its fields; fields are read back by their annotations (dataclasses,
``X | None``, unions of tagged dataclasses, datetimes, timedeltas, enums, scalars).
:class:`~bot.domain.progress.ProgressSnapshot` uses its own tolerant ``to_dict``/``from_dict``
(:func:`dump_snapshot`, :func:`load_snapshot`: the one place a snapshot meets JSON).
Only the types registered in :data:`_TYPES` can be read: stored JSON never names code.

Unreadable stored data (not JSON, nested too deeply, the wrong shape) is always a
:class:`CodecError`, never another exception; the store reads it as "nothing stored" (an
unreadable snapshot is no snapshot, an unreadable follow state the empty one) and logs a
warning, so one bad row never makes a watch or a run unreadable.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from bot.domain.console_types import ScanResult, SeverityCounts
from bot.domain.events import (
    Estimate,
    Event,
    ImageFollow,
    ParentView,
    RegularOverdue,
    RegularScanFollow,
)
from bot.domain.follow_state import FollowState
from bot.domain.images import ScanTarget
from bot.domain.progress import ProgressSnapshot


class CodecError(ValueError):
    """Stored JSON that does not describe a known event or view."""


#: Every event the outbox can carry: the members of the ``Event`` union, so a new event is
#: readable as soon as it is added there.
_EVENTS: tuple[type[Any], ...] = typing.get_args(Event)

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        *_EVENTS,
        ParentView,
        ImageFollow,
        RegularScanFollow,
        RegularOverdue,
        Estimate,
        FollowState,
        ScanTarget,
        ScanResult,
        SeverityCounts,
    )
}


def dumps(value: Event | ParentView | FollowState) -> str:
    """Compact JSON of an event or a parent view."""
    return json.dumps(_encode(value), separators=(",", ":"), sort_keys=True)


def load_event(text: str) -> Event:
    value = _load(text)
    if not isinstance(value, _EVENTS):
        raise CodecError(f"expected an event, got {type(value).__name__}")
    return typing.cast(Event, value)


def load_view(text: str) -> ParentView:
    value = _load(text)
    if not isinstance(value, ParentView):
        raise CodecError(f"expected a parent view, got {type(value).__name__}")
    return value


def load_follow_state(text: str | None) -> FollowState:
    """A stored follow state; ``None`` (a row older than the column) is the empty state."""
    if text is None:
        return FollowState()
    value = _load(text)
    if not isinstance(value, FollowState):
        raise CodecError(f"expected a follow state, got {type(value).__name__}")
    return value


def dump_snapshot(snapshot: ProgressSnapshot) -> str:
    """Compact JSON of a progress snapshot (its ``to_dict``)."""
    return json.dumps(snapshot.to_dict(), separators=(",", ":"), sort_keys=True)


def load_snapshot(text: str | None) -> ProgressSnapshot | None:
    """A stored snapshot; ``None`` and ``""`` (nothing stored) give ``None``.

    Missing or mistyped keys take their defaults (``ProgressSnapshot.from_dict``); text that
    is not a JSON object is a :class:`CodecError`.
    """
    if not text:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise CodecError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return ProgressSnapshot.from_dict(data)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CodecError(f"cannot decode: {type(exc).__name__}: {exc}"[:300]) from None


def _load(text: str) -> object:
    """Parse and decode; any failure of stored JSON is a :class:`CodecError`, never another."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not JSON: {type(exc).__name__}") from None
    try:
        return _decode_tagged(data)
    except CodecError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CodecError(f"cannot decode: {type(exc).__name__}: {exc}"[:300]) from None


def _encode(value: object) -> Any:
    if isinstance(value, ProgressSnapshot):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        encoded = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        encoded["type"] = type(value).__name__
        return encoded
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise CodecError(f"cannot encode {type(value).__name__}")


def _decode_tagged(data: object) -> object:
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise CodecError("expected an object with a type")
    cls = _TYPES.get(data["type"])
    if cls is None:
        raise CodecError(f"unknown type {data['type']!r}")
    values: dict[str, object] = {}
    for name, hint in _field_hints(data["type"]):
        if name in data:
            values[name] = _decode(hint, data[name])
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"cannot build {cls.__name__}: {exc}") from None


@functools.cache
def _field_hints(name: str) -> tuple[tuple[str, Any], ...]:
    """The fields of the registered dataclass ``name`` with their resolved annotations
    (resolving them was most of the cost of decoding a message; the classes never change)."""
    cls = _TYPES[name]
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def _decode(annotation: Any, data: object) -> object:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _decode_union(typing.get_args(annotation), data)
    if origin is tuple:
        if not isinstance(data, list):
            raise CodecError("a tuple must be a list")
        item = typing.get_args(annotation)[0]
        return tuple(_decode(item, element) for element in data)
    return _decode_plain(annotation, data)


def _decode_union(options: tuple[Any, ...], data: object) -> object:
    if data is None and type(None) in options:
        return None
    if isinstance(data, dict) and "type" in data:
        return _checked(_decode_tagged(data), options)
    for option in options:
        if option is not type(None):
            return _decode(option, data)
    raise CodecError("no type fits")


def _decode_plain(annotation: Any, data: object) -> object:
    if annotation is ProgressSnapshot:
        if not isinstance(data, dict):
            raise CodecError("a snapshot must be an object")
        return ProgressSnapshot.from_dict(data)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _checked(_decode_tagged(data), (annotation,))
    if annotation is datetime:
        if not isinstance(data, str):
            raise CodecError("a time must be a string")
        return datetime.fromisoformat(data)
    if annotation is timedelta:
        if not isinstance(data, (int, float)) or isinstance(data, bool):
            raise CodecError("a duration must be a number")
        return timedelta(seconds=data)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation(data)
    if annotation is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if isinstance(annotation, type) and not isinstance(data, annotation):
        raise CodecError(f"expected {annotation.__name__}, got {type(data).__name__}")
    return data


def _checked(value: object, options: tuple[Any, ...]) -> object:
    """A tagged value must be of a type its field allows (a subject is not any dataclass)."""
    allowed = tuple(option for option in options if isinstance(option, type))
    if allowed and not isinstance(value, allowed):
        names = ", ".join(option.__name__ for option in allowed)
        raise CodecError(f"{type(value).__name__} where {names} belongs")
    return value
