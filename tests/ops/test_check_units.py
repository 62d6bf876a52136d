"""The check logic with small fakes: last completion, the database, status ranking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.console.errors import ConsoleUnavailable
from bot.domain.console_types import RegistryStatus
from bot.domain.images import parse_image_reference
from bot.ops.check import DatabaseState, Thresholds, run_checks
from bot.ops.database import StoreProbe
from bot.ops.report import Status, unknown, worst
from bot.store import Store
from tests.support.fake_console import StubConsole

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class HealthyConsole(StubConsole):
    """Reachable, accepts the credentials, no regular scan running."""


def FakeStatus(  # noqa: N802 - reads like the type it builds
    completed_at: datetime | None, errors: Sequence[str] = ()
) -> RegistryStatus:
    return RegistryStatus(completed_at=completed_at, errors=tuple(errors), scanning=False)


@dataclass
class FakeRegistry(HealthyConsole):
    """A healthy console whose ``statuses/registry`` says ``status`` (None: it times out)."""

    status: RegistryStatus | None

    def registry_status(self) -> RegistryStatus:
        if self.status is None:
            raise ConsoleUnavailable("the console timed out")
        return self.status


@dataclass
class FakeDatabase:
    state: DatabaseState

    def read(self) -> DatabaseState:
        return self.state


def run(registry: FakeRegistry | None = None, **kwargs: object) -> tuple[Status, str]:
    """Run the checks against ``registry`` (last completion checked) or a healthy console."""
    console = registry if registry is not None else HealthyConsole()
    report = run_checks(
        console,
        now=lambda: NOW,
        last_completed=registry is not None,
        **kwargs,  # type: ignore[arg-type]
    )
    return report.status, report.summary()


def test_a_recent_completion_is_ok_and_named_in_the_summary() -> None:
    status, summary = run(registry=FakeRegistry(FakeStatus(NOW - timedelta(hours=2))))
    assert status is Status.OK
    assert summary.startswith("SCANBOT OK - console 34.04.145 reachable in ")
    assert "auth ok, regular scan idle, last completed 2h ago" in summary


def test_a_completion_older_than_the_max_age_is_a_warning() -> None:
    registry = FakeRegistry(FakeStatus(NOW - timedelta(hours=50)))
    status, summary = run(registry=registry, thresholds=Thresholds(max_age_hours=48))
    assert status is Status.WARNING
    assert "last completed 2d ago (over 48 h)" in summary


def test_errors_of_the_last_regular_scan_are_a_warning() -> None:
    registry = FakeRegistry(FakeStatus(NOW - timedelta(hours=1), errors=["registry 401"]))
    status, summary = run(registry=registry)
    assert status is Status.WARNING
    assert "with 1 error" in summary
    assert "error(s)" not in summary


def test_no_completed_scan_and_an_unanswered_status_are_warnings_not_crashes() -> None:
    assert run(registry=FakeRegistry(FakeStatus(None)))[0] is Status.WARNING
    status, summary = run(registry=FakeRegistry(None))
    assert status is Status.WARNING
    assert "last completion unknown" in summary


def test_open_watches_that_nobody_polls_are_a_warning() -> None:
    idle = FakeDatabase(DatabaseState(open_watches=0))
    assert run(database=idle)[0] is Status.OK
    orphaned = FakeDatabase(DatabaseState(open_watches=3))
    status, summary = run(database=orphaned)
    assert status is Status.WARNING
    assert "3 open watches, nobody polling" in summary
    stale = FakeDatabase(DatabaseState(2, "host:1", NOW - timedelta(minutes=20)))
    assert run(database=stale)[0] is Status.WARNING
    fresh = FakeDatabase(DatabaseState(2, "host:1", NOW - timedelta(seconds=20)))
    status, summary = run(database=fresh)
    assert status is Status.OK
    assert "2 open watches, last poll 20 s ago" in summary


def test_the_store_probe_reads_watches_and_the_poll_lease(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scanbot.db'}"
    store = Store(url)
    store.migrate()
    target = parse_image_reference("alpine:3.16")
    store.create_watch(target=target, channel_id="C1", requester_id="U1", now=NOW)
    store.try_lock("scanbot.poll-cycle", owner="host:1", ttl=timedelta(seconds=45), now=NOW)
    store.close()
    state = StoreProbe(url, poll_seconds=15).read()
    assert state.open_watches == 1
    assert state.poll_lease_owner == "host:1"
    # The lease is timed by the database's clock, not by the ``now`` the caller passed.
    renewed = state.poll_lease_renewed_at
    assert renewed is not None
    assert abs((renewed - datetime.now(UTC)).total_seconds()) < 3600


def test_the_store_probe_never_creates_a_missing_sqlite_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    status, summary = run(database=StoreProbe(f"sqlite:///{missing}", poll_seconds=15))
    assert status is Status.WARNING
    assert "database unreadable" in summary
    assert not missing.exists()


def test_critical_outranks_unknown_which_outranks_warning() -> None:
    assert worst([Status.WARNING, Status.CRITICAL, Status.UNKNOWN]) is Status.CRITICAL
    assert worst([Status.WARNING, Status.UNKNOWN]) is Status.UNKNOWN
    assert worst([]) is Status.OK
    report = unknown("PRISMA_USER not set")
    assert report.status is Status.UNKNOWN
    assert report.summary().startswith("SCANBOT UNKNOWN - ")
