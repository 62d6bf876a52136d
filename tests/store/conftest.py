"""Fixtures for the store tests: a migrated :class:`Store` on every available database.

SQLite (in memory and in a file) always; PostgreSQL too when ``SCANBOT_TEST_POSTGRES_URL``
names one (e.g. ``postgresql+psycopg://user:pw@127.0.0.1:5432/db``).  Each PostgreSQL test
gets a schema of its own, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.support.constants import DatabaseUrlFactory


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One empty database per test, for each kind of database available."""
    kind = request.param
    if kind == "sqlite-memory":
        return "sqlite:///:memory:"
    if kind == "sqlite-file":
        return f"sqlite:///{tmp_path / 'scanbot.db'}"
    factory: DatabaseUrlFactory = request.getfixturevalue("postgres_schema_url")
    return factory()


@pytest.fixture(params=["sqlite-file", "postgres"])
def shared_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that several :class:`Store` objects (like replicas) can open at once."""
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    factory: DatabaseUrlFactory = request.getfixturevalue("postgres_schema_url")
    return factory()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store, closed after the test."""
    instance = Store(database_url)
    instance.migrate()
    try:
        yield instance
    finally:
        instance.close()
