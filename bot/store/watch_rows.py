"""Rows of ``watches`` to :class:`~bot.domain.watch.Watch` objects and back (JSON included)."""

from __future__ import annotations

import functools
import logging

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from bot.domain.follow_state import FollowState
from bot.domain.images import ScanTarget
from bot.domain.progress import ProgressSnapshot
from bot.domain.watch import Watch, WatchState
from bot.store import codec
from bot.store.tables import FOLLOW_CLOCK_ID, follow_clock, watches

_log = logging.getLogger("bot.store.watches")

OPEN_STATES = tuple(state.value for state in WatchState if state.is_open)


@functools.cache
def is_open() -> sa.ColumnElement[bool]:
    """``watches.state`` is an open state, built once (an ``IN`` built per call is left
    in reference cycles for the collector)."""
    return watches.c.state.in_(OPEN_STATES)


@functools.cache
def follow_clock_now() -> sa.ScalarSelect[float]:
    """The follow clock's reading, as a value inside a statement (0 before it moved)."""
    reading = sa.func.coalesce(sa.func.max(follow_clock.c.followed_seconds), 0.0)
    return sa.select(reading).where(follow_clock.c.id == FOLLOW_CLOCK_ID).scalar_subquery()


def watched_now() -> sa.ColumnElement[float]:
    """A watch's time followed now: the clock less its start while open, then as kept."""
    return sa.case(
        (is_open(), follow_clock_now() - watches.c.followed_from),
        else_=watches.c.watched_seconds,
    )


@functools.cache
def select_watches() -> sa.Select[tuple[object, ...]]:
    """``SELECT`` of whole watch rows as :func:`to_watch` reads them."""
    return sa.select(watches, watched_now().label("watched_now"))


class Parsed:
    """Stored JSON already parsed while reading many rows: watches of one image usually hold
    the same snapshot text, and the parsed objects are immutable, so each distinct text is
    parsed once per read."""

    def __init__(self) -> None:
        self.snapshots: dict[str, ProgressSnapshot | None] = {}
        self.follows: dict[str, FollowState] = {}

    def snapshot(self, text: str | None, watch_id: int) -> ProgressSnapshot | None:
        if text is None:
            return None
        if text not in self.snapshots:
            self.snapshots[text] = load_snapshot(text, f"watch {watch_id}")
        return self.snapshots[text]

    def follow(self, text: str | None, owner: str) -> FollowState:
        if text is None:
            return load_follow(text, owner)
        if text not in self.follows:
            self.follows[text] = load_follow(text, owner)
        return self.follows[text]


def load_snapshot(text: str | None, owner: str) -> ProgressSnapshot | None:
    """A stored snapshot; an unreadable one is none (logged): the next poll then counts as
    a change, and the watch or run stays readable."""
    try:
        return codec.load_snapshot(text)
    except codec.CodecError as error:
        _log.warning("%s: ignoring unreadable stored snapshot (%s)", owner, error)
        return None


def to_watch(row: RowMapping, parsed: Parsed | None = None) -> Watch:
    """The watch of a row read with :func:`select_watches`."""
    parsed = parsed or Parsed()
    return Watch(
        id=row["id"],
        target=ScanTarget(
            repo=row["repo"], tag=row["tag"], digest=row["digest"], registry=row["registry"]
        ),
        channel_id=row["channel_id"],
        requester_id=row["requester_id"],
        state=WatchState(row["state"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        parent_ts=row["parent_ts"],
        last_snapshot=parsed.snapshot(row["last_snapshot"], row["id"]),
        saw_running=bool(row["saw_running"]),
        last_thread_post_at=row["last_thread_post_at"],
        finished_at=row["finished_at"],
        watched_seconds=max(0.0, float(row["watched_now"] or 0.0)),
        follow=parsed.follow(row["follow_state"], f"watch {row['id']}"),
        result_wait_until=row["result_wait_until"],
        result_checked_at=row["result_checked_at"],
    )


def load_follow(text: str | None, owner: str) -> FollowState:
    """A stored follow state; an unreadable one is the empty state (logged)."""
    try:
        return codec.load_follow_state(text)
    except codec.CodecError as error:
        _log.warning("%s: ignoring unreadable follow state (%s)", owner, error)
        return FollowState()
