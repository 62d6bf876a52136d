"""A replayed signed request is ignored by every replica sharing the database, and after a
restart, within Slack's signing window.

Two app instances (two runtimes, two HTTP servers) on one PostgreSQL database: a signed
``/scanprogress help`` answered by the first is, sent again byte for byte to the second,
ignored with an empty 200.  A restart ignores it too, on PostgreSQL and on a SQLite file
(one process: its memory decides at once and the signatures are written behind, so an
ack never waits for SQLite's one writer).  PostgreSQL runs when
``SCANBOT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from bot.runtime import build_runtime
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from bot.server import BackgroundServer, build_wsgi_app
from bot.slack.replays import SharedReplays
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
    if shared_bot.runtime.store.one_process():
        pytest.skip("SQLite serves one process: replicas share PostgreSQL")
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
    # On SQLite the signature is written a moment after the answer (shutting down writes
    # what is left); a restart comes after that.
    assert shared_bot.runtime.replays.flush()
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


def test_on_sqlite_an_ack_does_not_wait_for_the_database_writer(tmp_path: Path) -> None:
    """Another connection holds SQLite's write lock (as a long transaction of another
    writer does): help is answered within the client's 5 s (a write in the ack path would
    wait up to the 30 s busy timeout) and a replay to this process is still ignored; the
    signature is written once the lock is released."""
    with running_bot(tmp_path, console_config=None, console_clock=None) as bot:
        path = bot.runtime.store.sqlite_file()
        assert path is not None
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            body, headers = _help_request(bot)
            answered = httpx.post(
                f"{bot.url}/slack/events", content=body, headers=headers, timeout=5
            )
            replayed = httpx.post(
                f"{bot.url}/slack/events", content=body, headers=headers, timeout=5
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert bot.runtime.replays.flush()
        assert bot.runtime.store.count_seen_requests() == 1

    assert "/scanprogress" in answered.text
    assert replayed.content == b""


def test_signatures_written_behind_are_read_back_at_start(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'seen.db'}")
    store.migrate()
    now = 1_800_000_000.0
    try:
        first = SharedReplays(store, clock=lambda: now, write_behind=True)
        assert not first.seen_before("v0=a", timestamp=int(now))
        first.close()
        assert store.count_seen_requests() == 1
        again = SharedReplays(store, clock=lambda: now + 60, write_behind=True)
        assert again.seen_before("v0=a", timestamp=int(now))
        assert not again.seen_before("v0=b", timestamp=int(now + 60))
        again.close()
        later = SharedReplays(store, clock=lambda: now + 400, write_behind=True)
        assert not later.seen_before("v0=a", timestamp=int(now + 400))  # its window passed
        later.close()
    finally:
        store.close()


def test_signatures_the_database_refused_are_written_when_it_answers_again(
    tmp_path: Path,
) -> None:
    """The first write fails (the database does not answer): the signature stays owed and
    is written by a later attempt; memory decided meanwhile."""

    class Flaky:
        def __init__(self, store: Store) -> None:
            self.store = store
            self.refusals = 1

        def first_sighting(self, signature: str, *, until: datetime, now: datetime) -> bool:
            raise AssertionError("not used when written behind")

        def first_sightings(
            self, sightings: Sequence[tuple[str, datetime]], *, now: datetime
        ) -> list[bool]:
            if self.refusals:
                self.refusals -= 1
                raise OperationalError("INSERT", {}, Exception("disk I/O error"))
            return self.store.first_sightings(sightings, now=now)

        def seen_signatures(self, *, now: datetime) -> list[tuple[str, datetime]]:
            return self.store.seen_signatures(now=now)

    store = Store(f"sqlite:///{tmp_path / 'seen.db'}")
    store.migrate()
    try:
        flaky = Flaky(store)
        replays = SharedReplays(flaky, write_behind=True)
        assert not replays.seen_before("v0=a")
        assert replays.seen_before("v0=a")  # memory decides while the database refuses
        assert replays.flush(timeout=10)
        replays.close()
        assert flaky.refusals == 0
        assert store.count_seen_requests() == 1
    finally:
        store.close()


def test_signatures_wait_while_requests_are_answered_and_go_when_they_are_done(
    tmp_path: Path,
) -> None:
    """Acks first: while the front door is busy the batch waits (and grows); it is written
    once the door is quiet (or at the latest WRITE_WITHIN after its first signature)."""
    store = Store(f"sqlite:///{tmp_path / 'seen.db'}")
    store.migrate()
    busy = threading.Event()
    busy.set()
    try:
        replays = SharedReplays(store, write_behind=True, busy=busy.is_set)
        assert not replays.seen_before("v0=a")
        assert not replays.seen_before("v0=b")
        threading.Event().wait(0.3)  # well within WRITE_WITHIN (1 s)
        assert store.count_seen_requests() == 0
        busy.clear()
        deadline = time.monotonic() + 5
        while store.count_seen_requests() < 2 and time.monotonic() < deadline:
            threading.Event().wait(0.02)
        assert store.count_seen_requests() == 2
        replays.close()
    finally:
        store.close()
