"""The database side of ``scanbot check``: open watches and the poll lease, read-only."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.ops.check import DatabaseState, DatabaseUnreadable
from bot.store import Store
from bot.store.db import make_engine
from bot.store.tables import as_utc, locks
from bot.watcher.job import POLL_LOCK, poll_lease


class StoreProbe:
    """Reads what ``scanbot run`` wrote; never creates or migrates anything.

    A SQLite file that does not exist is reported as unreadable instead of being created.
    """

    def __init__(self, database_url: str, *, poll_seconds: float) -> None:
        self._url = database_url
        self._lease = poll_lease(poll_seconds)

    def read(self) -> DatabaseState:
        try:
            url = make_url(self._url)
        except ArgumentError:
            raise DatabaseUnreadable("SCANBOT_DATABASE_URL is not a database URL") from None
        file = url.database if url.get_backend_name() == "sqlite" else None
        if file and file != ":memory:" and not Path(file).exists():
            raise DatabaseUnreadable(
                f"SCANBOT_DATABASE_URL: no database file at {file} "
                "(has `scanbot run` started here?)"
            )
        store = Store(self._url)
        engine = make_engine(self._url)
        try:
            watches = len(store.list_open())
            with engine.connect() as connection:
                row = connection.execute(
                    sa.select(locks.c.owner, locks.c.expires_at).where(locks.c.name == POLL_LOCK)
                ).first()
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise DatabaseUnreadable(f"SCANBOT_DATABASE_URL: cannot read ({reason})") from None
        finally:
            store.close()
            engine.dispose()
        if row is None:
            return DatabaseState(open_watches=watches)
        renewed: datetime = as_utc(row.expires_at) - self._lease
        return DatabaseState(
            open_watches=watches, poll_lease_owner=row.owner, poll_lease_renewed_at=renewed
        )
