"""The on-call digest on its schedule, with a controllable clock.

The job function is called directly at chosen times, and the times come from the
scheduler's own trigger (``scanbot.digest`` in the scheduler the runtime builds), so what is
tested is when the digest is *due*, not when a background thread happens to run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config.settings import Settings, load_settings
from bot.console.errors import ConsoleUnavailable
from bot.domain.console_types import RegistryStatus
from bot.domain.events import DestinationGone
from bot.domain.images import ScanTarget
from bot.domain.progress import ProgressSnapshot
from bot.domain.watch import WatchState
from bot.store import Store
from bot.watcher.digest import LAST_POSTED, Digest, cron_weekdays, digest_trigger, post_digest
from bot.watcher.scheduler import DIGEST_JOB_ID, add_digest_job, build_scheduler
from bot.watcher.services import Services
from tests.slack.block_samples import COMPLETE, FAILED, SCANNING
from tests.support.fake_console import StubConsole
from tests.support.harness import running_bot

# 2026-01-05 is a Monday; Berlin is UTC+1 in January, so 09:00 Berlin is 08:00 UTC.
MONDAY_0700_UTC = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
OWNER = "test-replica"


class Console(StubConsole):
    def __init__(self) -> None:
        self.status: RegistryStatus | Exception = RegistryStatus(
            completed_at=MONDAY_0700_UTC - timedelta(hours=6), scanning=False
        )

    def registry_status(self) -> RegistryStatus:
        if isinstance(self.status, Exception):
            raise self.status
        return self.status


class Poster:
    def __init__(self) -> None:
        self.posted: list[tuple[str, Digest]] = []
        self.gone: set[str] = set()

    def post_digest(self, channel_id: str, digest: Digest) -> None:
        if channel_id in self.gone:
            raise DestinationGone("channel_not_found", code="channel_not_found")
        self.posted.append((channel_id, digest))


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "scanbot_digest_channels": "C0ONCALL,C0PLATFORM",
        "scanbot_digest_cron": "0 9 * * 1-5",
        "scanbot_digest_timezone": "Europe/Berlin",
    }
    values.update(overrides)
    return load_settings({}, **values)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'digest.db'}")
    store.migrate()
    return store


def services(store: Store, console: Console, **overrides: object) -> Services:
    return Services(settings=settings(**overrides), console=console, store=store)


def finish(
    store: Store, repo: str, state: WatchState, snap: ProgressSnapshot, at: datetime
) -> None:
    watch, _ = store.create_watch(
        target=ScanTarget(repo=repo, tag="1"), channel_id="C0TEAM", requester_id="U1", now=at
    )
    store.finish(watch.id, state=state, now=at, snapshot=snap)


def test_the_trigger_follows_the_cron_in_the_configured_time_zone() -> None:
    trigger = digest_trigger(settings())
    first = trigger.get_next_fire_time(None, MONDAY_0700_UTC)
    assert first == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    friday = datetime(2026, 1, 9, 8, 0, 1, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, friday) == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)


def test_the_scheduler_has_the_digest_job_with_its_cron_trigger() -> None:
    scheduler = build_scheduler(lambda: None, poll_seconds=5)
    add_digest_job(scheduler, lambda: None, digest_trigger(settings()))
    job = scheduler.get_job(DIGEST_JOB_ID)
    assert job is not None
    assert job.coalesce is True
    assert job.max_instances == 1
    fire = job.trigger.get_next_fire_time(None, MONDAY_0700_UTC)
    assert fire.astimezone(UTC) == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_a_digest_is_posted_when_due_once_per_scheduled_time(store: Store) -> None:
    console, poster = Console(), Poster()
    ctx = services(store, console)
    trigger = digest_trigger(ctx.settings)

    # First run ever: remember the time, post nothing.
    assert not post_digest(ctx, poster, owner=OWNER, now=MONDAY_0700_UTC)
    finish(
        store, "team/done", WatchState.COMPLETED, COMPLETE, MONDAY_0700_UTC + timedelta(minutes=5)
    )
    finish(store, "team/bad", WatchState.COMPLETED, FAILED, MONDAY_0700_UTC + timedelta(minutes=6))
    finish(store, "team/slow", WatchState.EXPIRED, SCANNING, MONDAY_0700_UTC + timedelta(minutes=7))
    store.create_watch(
        target=ScanTarget(repo="team/running", tag="1"),
        channel_id="C0TEAM",
        requester_id="U1",
        now=MONDAY_0700_UTC,
    )

    before = trigger.get_next_fire_time(None, MONDAY_0700_UTC) - timedelta(seconds=1)
    assert not post_digest(ctx, poster, owner=OWNER, now=before)
    due = trigger.get_next_fire_time(None, MONDAY_0700_UTC)
    assert post_digest(ctx, poster, owner=OWNER, now=due)

    assert [channel for channel, _ in poster.posted] == ["C0ONCALL", "C0PLATFORM"]
    digest = poster.posted[0][1]
    assert [w.target.repo for w in digest.completed] == ["team/done"]
    assert [w.target.repo for w in digest.failed] == ["team/bad"]
    assert [w.target.repo for w in digest.stalled] == ["team/slow"]
    assert [w.target.repo for w in digest.running] == ["team/running"]
    assert digest.registry is not None
    assert digest.timezone == "Europe/Berlin"
    assert digest.since == MONDAY_0700_UTC

    # The same scheduled time again (a second run, a restart, another replica): no repeat.
    assert not post_digest(ctx, poster, owner="another-replica", now=due + timedelta(minutes=30))
    assert len(poster.posted) == 2


def test_a_digest_missed_while_down_is_posted_at_start_and_covers_the_whole_gap(
    store: Store,
) -> None:
    console, poster = Console(), Poster()
    ctx = services(store, console)
    store.set_value(LAST_POSTED, MONDAY_0700_UTC.isoformat(), now=MONDAY_0700_UTC)
    finish(store, "team/a", WatchState.COMPLETED, COMPLETE, MONDAY_0700_UTC + timedelta(hours=3))

    tuesday_noon = datetime(2026, 1, 6, 11, 0, tzinfo=UTC)  # both 09:00 slots passed meanwhile
    assert post_digest(ctx, poster, owner=OWNER, now=tuesday_noon)
    assert len(poster.posted) == 2  # one digest (two channels), not one per missed slot
    assert [w.target.repo for w in poster.posted[0][1].completed] == ["team/a"]
    assert store.get_value(LAST_POSTED) == tuesday_noon.isoformat()


def test_the_digest_survives_a_console_error_and_a_gone_channel(store: Store) -> None:
    console, poster = Console(), Poster()
    console.status = ConsoleUnavailable("the console could not be reached")
    poster.gone = {"C0ONCALL"}
    ctx = services(store, console)
    store.set_value(LAST_POSTED, MONDAY_0700_UTC.isoformat(), now=MONDAY_0700_UTC)

    assert post_digest(ctx, poster, owner=OWNER, now=datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    ((channel, digest),) = poster.posted
    assert channel == "C0PLATFORM"
    assert digest.registry is None
    assert "could not be reached" in digest.registry_error


def test_no_digest_channels_means_no_digest(store: Store) -> None:
    poster = Poster()
    ctx = services(store, Console(), scanbot_digest_channels="")
    assert not post_digest(ctx, poster, owner=OWNER, now=MONDAY_0700_UTC)
    assert store.get_value(LAST_POSTED) is None


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 9 * * 1-5", "0 9 * * mon,tue,wed,thu,fri"),
        ("0 9 * * 0", "0 9 * * sun"),
        ("0 9 * * 7", "0 9 * * sun"),
        ("0 9 * * 1,3", "0 9 * * mon,wed"),
        ("0 9 * * 1/2", "0 9 * * mon,wed,fri,sun"),
        ("0 9 * * mon-fri", "0 9 * * mon-fri"),
        ("0 9 * * *", "0 9 * * *"),
    ],
)
def test_weekday_numbers_mean_what_they_mean_in_crontab(cron: str, expected: str) -> None:
    """APScheduler 3 numbers Monday 0; crontab numbers Sunday 0 and Monday 1."""
    assert cron_weekdays(cron) == expected


def test_the_runtime_schedules_the_digest_only_when_channels_are_configured(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_bot(tmp_path / "a") as bot:
        assert bot.runtime.scheduler.get_job(DIGEST_JOB_ID) is None
    with running_bot(tmp_path / "b", scanbot_digest_channels="C0ONCALL") as bot:
        job = bot.runtime.scheduler.get_job(DIGEST_JOB_ID)
        assert job is not None
        assert "day_of_week='mon,tue,wed,thu,fri'" in str(job.trigger)
