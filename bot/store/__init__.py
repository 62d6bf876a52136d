"""Persistence of watches (SQLAlchemy; SQLite by default, PostgreSQL by URL).

:class:`Store` is the one entry point; its schema is created or upgraded by
:meth:`Store.migrate` through the packaged Alembic migrations.
"""

from bot.store.watches import Store, WatchNotFoundError

__all__ = ["Store", "WatchNotFoundError"]
