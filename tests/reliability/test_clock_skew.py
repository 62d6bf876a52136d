"""Two replicas on one database, one whose clock runs 30 s ahead: the leases hold.

Leases are timed by the database's clock, so the skewed replica neither runs a poll cycle
while the other's lease is live nor takes over a thread it is delivering.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import build_runtime
from bot.sandbox.console import SandboxConsoleConfig
from tests.support.clocks import ManualClock
from tests.support.constants import STEP, DatabaseUrlFactory
from tests.support.harness import BotHarness, running_bot


@pytest.fixture(params=["sqlite", "postgres"])
def shared_bot(
    request: pytest.FixtureRequest, tmp_path: Path, console_clock: ManualClock
) -> Iterator[BotHarness]:
    overrides: dict[str, Any] = {}
    if request.param == "postgres":
        factory: DatabaseUrlFactory = request.getfixturevalue("postgres_schema_url")
        overrides["scanbot_database_url"] = factory()
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path, console_config=config, console_clock=console_clock, **overrides
    ) as harness:
        yield harness


def test_a_replica_whose_clock_runs_30s_ahead_does_not_poll_while_the_lease_is_live(
    shared_bot: BotHarness,
) -> None:
    bot = shared_bot
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    bot.follow("alpine:3.16")

    def skewed() -> datetime:
        return bot.clock() + timedelta(seconds=30)

    second = build_runtime(bot.runtime.settings, clock=skewed, channel_interval=0)
    try:
        assert bot.poll().ran  # the first replica takes the poll lease
        assert not second.poll_once().ran  # 30 s ahead, yet the lease is live: no cycle
        assert bot.poll().ran  # the holder renews it
        thread_key = f"watch:{bot.runtime.store.list_open()[0].id}"
        assert bot.runtime.store.claim_thread(
            thread_key, owner=bot.runtime.owner, ttl=timedelta(seconds=60), now=bot.clock()
        )
        assert not second.store.claim_thread(
            thread_key, owner=second.owner, ttl=timedelta(seconds=60), now=skewed()
        )
    finally:
        second.shutdown()
