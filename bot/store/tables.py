"""The tables of the store (SQLAlchemy Core), as the latest migration leaves them.

The Alembic migrations in :mod:`bot.store.migrations` create these tables; this module
is what the repository queries and what ``alembic revision --autogenerate`` compares to.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; naive values are refused because their zone is unknown."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware in UTC.

    PostgreSQL keeps the zone (``timestamptz``); SQLite drops it, so values are converted to
    UTC before they are written and the zone is put back when they are read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

watches = sa.Table(
    "watches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("repo", sa.Text, nullable=False),
    sa.Column("tag", sa.Text, nullable=True),
    sa.Column("digest", sa.Text, nullable=True),
    sa.Column("registry", sa.Text, nullable=True),
    sa.Column("target_key", sa.Text, nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("requester_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    # f"{channel_id}|{target_key}" while the watch is open, NULL once finished: the unique
    # constraint allows many NULLs, so it enforces "one open watch per channel and image".
    sa.Column("open_key", sa.Text, nullable=True, unique=True),
    sa.Column("parent_ts", sa.String(64), nullable=True),
    sa.Column("last_snapshot", sa.Text, nullable=True),  # JSON of ProgressSnapshot.to_dict()
    sa.Column("saw_running", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_thread_post_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    # Seconds the bot actually spent following the watch (poll cycles, not the wall clock:
    # expiry and durations use it so a wall-clock step cannot end or stretch a watch).
    # Kept here once the watch is finished; while it is open, it is the follow clock's
    # reading less ``followed_from`` (``watched_now()`` in bot.store.watch_rows).
    sa.Column("watched_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("followed_from", sa.Float, nullable=False, server_default="0"),
    # JSON of bot.domain.follow_state.FollowState (stalls, rate, baseline result); NULL = empty.
    sa.Column("follow_state", sa.Text, nullable=True),
    # A completed watch whose scan's result the console had not written yet: looked for
    # (at most every 30 s: ``result_checked_at``) until then; NULL once told.
    sa.Column("result_wait_until", UTCDateTime, nullable=True, index=True),
    sa.Column("result_checked_at", UTCDateTime, nullable=True),
    # Raised by every change of the row: the poll cycle keeps the open watches it read and
    # re-reads only the rows whose revision moved (bot.watcher.open_watches).  Use
    # ``revised()``.
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
)


#: The poll cycle's light read of the open watches (bot.store.open_rows) from the index alone.
sa.Index(
    "ix_watches_open_rows",
    watches.c.state,
    watches.c.id,
    watches.c.revision,
    watches.c.followed_from,
)


def revised(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` of an UPDATE of ``watches`` with the row's revision raised."""
    return {**values, "revision": _next_revision()}


@functools.cache
def _next_revision() -> sa.ColumnElement[int]:
    """``revision + 1``, built once (an expression built per call is left in reference
    cycles for the collector)."""
    return watches.c.revision + 1


#: The time the bot has spent following, in seconds: moved once a poll cycle by the time
#: since the previous one (one row, ``id`` 1).  An open watch's time followed is its
#: reading less the watch's ``followed_from``, so a cycle writes one row, not every open one.
follow_clock = sa.Table(
    "follow_clock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("followed_seconds", sa.Float, nullable=False, server_default="0"),
)

#: The one row of ``follow_clock``.
FOLLOW_CLOCK_ID = 1

locks = sa.Table(
    "locks",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("owner", sa.String(256), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

#: Threads that messages go to: a parent message (``parent_ts`` once posted) in a channel.
#: ``key`` names its owner, e.g. ``watch:17``; see :mod:`bot.store.outbox`.
threads = sa.Table(
    "threads",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("parent_ts", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

#: Messages owed to Slack, written in the same transaction as the state change that owes
#: them and cleared only once Slack accepted them (see :mod:`bot.delivery.sender`).
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # Unique per message: deciding the same thing twice (after a crash) owes it once.
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("thread_key", sa.String(128), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # parent | edit | reply
    sa.Column("body", sa.Text, nullable=False),  # JSON of the domain event or parent view
    sa.Column("priority", sa.Integer, nullable=False, server_default="1"),  # 0 goes first
    sa.Column("state", sa.String(16), nullable=False, index=True),  # pending | sent | dropped
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("sent_ts", sa.String(64), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
)

#: Small named values that must survive restarts and be shared by replicas
#: (``digest.last_posted_at``: when the on-call digest was last posted).
kv = sa.Table(
    "kv",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

#: Channels told about every regular registry scan (``/scanprogress subscribe`` or
#: ``SCANBOT_NOTIFY_CHANNELS``, ``source`` says which).
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("channel_id", sa.String(64), primary_key=True),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # command | setting
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("level", sa.String(16), nullable=False, server_default="normal"),  # quiet|...
    sa.Column("mention", sa.String(64), nullable=True),  # <@U…> or <!subteam^S…>
    sa.Column("snoozed_until", UTCDateTime, nullable=True),
    sa.Column("snoozed_by", sa.String(64), nullable=True),
)

#: One subscribed channel's thread about one regular scan (thread key ``regular:<id>``).
regular_runs = sa.Table(
    "regular_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scan_key", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("parent_ts", sa.String(64), nullable=True),
    sa.Column("last_snapshot", sa.Text, nullable=True),
    sa.Column("follow_state", sa.Text, nullable=True),
    sa.Column("last_thread_post_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("scan_key", "channel_id", name="uq_regular_runs_scan_channel"),
)

#: Signatures of Slack requests accepted recently, shared by every replica (a replay is
#: refused by all of them); a row is kept until its request's signing window has passed.
seen_requests = sa.Table(
    "seen_requests",
    metadata,
    sa.Column("signature", sa.String(128), primary_key=True),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

#: The bot's budget of Slack Web API calls, shared by every replica: one token bucket per
#: method (per workspace) or per channel for posts; ``updated_at`` is the database's clock
#: (seconds since the epoch) when ``tokens`` was last computed.  See bot.store.budget.
slack_budget = sa.Table(
    "slack_budget",
    metadata,
    sa.Column("bucket", sa.String(200), primary_key=True),
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
