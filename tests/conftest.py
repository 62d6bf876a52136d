"""Shared fixtures (only fixtures): a manual console clock, a running bot, private
PostgreSQL schemas.  Shared constants live in :mod:`tests.support.constants`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.sandbox.console import SandboxConsoleConfig
from tests.support.clocks import ManualClock
from tests.support.constants import POSTGRES_ENV, STEP, DatabaseUrlFactory
from tests.support.harness import BotHarness, running_bot


@pytest.fixture
def console_clock() -> ManualClock:
    """The simulated console's clock; tests move scans forward with ``advance()``."""
    return ManualClock(start=1_000.0)


@pytest.fixture
def bot(tmp_path: Path, console_clock: ManualClock) -> Iterator[BotHarness]:
    """The bot behind waitress, with the simulated console and the Slack stand-in."""
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(tmp_path, console_config=config, console_clock=console_clock) as harness:
        yield harness


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
