"""Fixtures for the store tests: a migrated :class:`Store` on every available database.

SQLite (in memory and in a file) always; PostgreSQL too when ``SCANBOT_TEST_POSTGRES_URL``
names one (e.g. ``postgresql+psycopg://user:pw@127.0.0.1:5432/db``).  Each PostgreSQL test
gets a schema of its own, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store import Store

POSTGRES_ENV = "SCANBOT_TEST_POSTGRES_URL"

DatabaseUrlFactory = Callable[[], str]


def _postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture
def postgres_schema_url() -> Iterator[DatabaseUrlFactory]:
    """Factory of PostgreSQL URLs whose ``search_path`` is a fresh, private schema."""
    base = _postgres_base_url()
    if base is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    admin = sa.create_engine(base)
    schemas: list[str] = []

    def make() -> str:
        schema = f"scanbot_test_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.begin() as connection:
            for schema in schemas:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


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
