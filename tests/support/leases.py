"""Make the leases in a test database lapse, as real time passing would.

Leases are timed by the database's clock, so a test that moves its own clock by hand does
not expire them; a test that plays "the other process died long ago" lapses them here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from bot.store.tables import locks

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def lapse_leases(database_url: str) -> int:
    """Every lease in the database has expired (they stay owned); how many there were."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            return int(connection.execute(locks.update().values(expires_at=LONG_AGO)).rowcount)
    finally:
        engine.dispose()
