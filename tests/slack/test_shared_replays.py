"""A replayed signed request is ignored by every replica sharing the database, and after a
restart, within Slack's signing window.

Two app instances (two runtimes, two HTTP servers) on one database: a signed
``/scanprogress help`` answered by the first is, sent again byte for byte to the second,
ignored with an empty 200.  Before, the memory of seen signatures was per process and the
second instance answered the replay: these tests failed.  Run on a SQLite file and, when
``SCANBOT_TEST_POSTGRES_URL`` is set, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.runtime import build_runtime
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from bot.server import BackgroundServer, build_wsgi_app
from bot.store import Store
from tests.support.constants import DatabaseUrlFactory
from tests.support.harness import ALICE, CHANNEL, SIGNING_SECRET, BotHarness, running_bot


@pytest.fixture(params=["sqlite", "postgres"])
def shared_bot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BotHarness]:
    overrides: dict[str, Any] = {}
    if request.param == "postgres":
        factory: DatabaseUrlFactory = request.getfixturevalue("postgres_schema_url")
        overrides["scanbot_database_url"] = factory()
    with running_bot(tmp_path, console_config=None, console_clock=None, **overrides) as bot:
        yield bot


def _help_request(bot: BotHarness) -> tuple[bytes, dict[str, str]]:
    body = slash_command_body(
        text="help",
        user_id=ALICE,
        channel_id=CHANNEL,
        response_url=bot.slack.response_url("replay"),
        trigger_id="replayed-trigger",
    )
    return body, signed_headers(SIGNING_SECRET, body)


def test_a_request_replayed_to_another_replica_is_ignored(shared_bot: BotHarness) -> None:
    second = build_runtime(shared_bot.runtime.settings, clock=shared_bot.clock)
    server = BackgroundServer(build_wsgi_app(second, serve_slack=True)).start()
    try:
        body, headers = _help_request(shared_bot)
        first = httpx.post(f"{shared_bot.url}/slack/events", content=body, headers=headers)
        replayed = httpx.post(
            f"http://127.0.0.1:{server.port}/slack/events", content=body, headers=headers
        )
    finally:
        server.stop()
        second.shutdown()

    assert first.status_code == 200
    assert "/scanprogress" in first.text  # help, answered in the ack
    assert replayed.status_code == 200
    assert replayed.content == b""


def test_a_request_replayed_after_a_restart_is_ignored(shared_bot: BotHarness) -> None:
    body, headers = _help_request(shared_bot)
    assert (
        "/scanprogress"
        in httpx.post(f"{shared_bot.url}/slack/events", content=body, headers=headers).text
    )
    restarted = build_runtime(shared_bot.runtime.settings, clock=shared_bot.clock)
    server = BackgroundServer(build_wsgi_app(restarted, serve_slack=True)).start()
    try:
        again = httpx.post(
            f"http://127.0.0.1:{server.port}/slack/events", content=body, headers=headers
        )
    finally:
        server.stop()
        restarted.shutdown()

    assert again.content == b""


def test_seen_signatures_are_pruned_once_their_window_has_passed(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'seen.db'}")
    store.migrate()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        assert store.first_sighting("v0=a", until=now + timedelta(minutes=5), now=now)
        assert not store.first_sighting("v0=a", until=now + timedelta(minutes=5), now=now)
        later = now + timedelta(minutes=6)
        assert store.first_sighting("v0=b", until=later + timedelta(minutes=5), now=later)
        assert store.count_seen_requests() == 1  # "v0=a" is gone
        assert store.first_sighting("v0=a", until=later + timedelta(minutes=5), now=later)
    finally:
        store.close()
