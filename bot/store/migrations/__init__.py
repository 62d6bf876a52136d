"""Alembic migrations of the store, run programmatically by :func:`bot.store.db.migrate`.

Not imported by the application: Alembic loads ``env.py`` and ``versions/*.py`` itself.
This file only makes the folder a package so that it is installed with ``bot``.
"""
