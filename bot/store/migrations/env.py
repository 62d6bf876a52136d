"""Alembic environment: runs the store's migrations.

Alembic executes this file itself (it is not imported by the application), so running the
migrations at the bottom is its purpose, not an import side effect.

* :func:`bot.store.db.migrate` passes an open connection in ``config.attributes`` and the
  migrations run inside that connection's transaction.
* Otherwise the ``sqlalchemy.url`` option names the database, e.g. for a developer adding a
  revision::

      cfg = bot.store.db.alembic_config()
      cfg.set_main_option("sqlalchemy.url", "sqlite:///dev.db")
      alembic.command.revision(cfg, message="...", autogenerate=True)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.store.db import make_engine
from bot.store.tables import metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set config.attributes['connection'] or the sqlalchemy.url option")
    engine = make_engine(url)
    try:
        with engine.begin() as own_connection:
            _configure_and_run(own_connection)
    finally:
        engine.dispose()


def _run_offline() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("offline (--sql) migrations need the sqlalchemy.url option")
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
