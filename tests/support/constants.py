"""Constants shared by the tests (fixtures stay in ``conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable

#: Seconds of console time per scan item in the integration tests' sandbox scans.
STEP = 10.0

#: Set to a PostgreSQL URL to run the database tests on PostgreSQL too.
POSTGRES_ENV = "SCANBOT_TEST_POSTGRES_URL"

#: A fixture making PostgreSQL URLs, each with a fresh private schema.
DatabaseUrlFactory = Callable[[], str]
