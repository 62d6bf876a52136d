"""The watch repository and the leases of :class:`bot.store.Store`, on every database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.domain.follow_state import FollowState
from bot.domain.images import ScanTarget
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.steps import Step
from bot.domain.watch import Watch, WatchState
from bot.store import Store, WatchNotFoundError

T0 = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
PRIVATE = ScanTarget(
    repo="team/app",
    tag="1.2",
    digest="sha256:" + "ab" * 32,
    registry="registry.example.com:5000",
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def scanning(scanned: int, total: int = 10) -> ProgressSnapshot:
    return ProgressSnapshot(
        phase=Phase.SCANNING,
        discovery=Step(total=2, scanned=2, title="Discovering repositories"),
        image_scan=Step(total=total, scanned=scanned, title="Scanning images"),
        started_at=T0 - timedelta(minutes=5),
        entries=1,
    )


def new_watch(store: Store, target: ScanTarget = ALPINE, channel: str = "C1") -> Watch:
    watch, created = store.create_watch(
        target=target, channel_id=channel, requester_id="U1", now=T0
    )
    assert created
    return watch


# --- create / find / dedupe -----------------------------------------------------------


def test_create_watch_stores_a_pending_watch_with_the_target(store: Store) -> None:
    watch, created = store.create_watch(target=PRIVATE, channel_id="C1", requester_id="U9", now=T0)
    assert created
    assert watch.state is WatchState.PENDING
    assert watch.target == PRIVATE
    assert (watch.channel_id, watch.requester_id) == ("C1", "U9")
    assert watch.created_at == watch.updated_at == T0
    assert watch.parent_ts is None
    assert watch.last_snapshot is None
    assert watch.saw_running is False
    assert watch.finished_at is None
    assert store.get(watch.id) == watch


def test_second_create_in_same_channel_returns_the_open_watch(store: Store) -> None:
    first = new_watch(store)
    again, created = store.create_watch(
        target=ScanTarget(repo="library/alpine", tag="3.16"),
        channel_id="C1",
        requester_id="U2",
        now=at(30),
    )
    assert created is False
    assert again == first  # unchanged: not re-requested, not touched


def test_same_image_in_another_channel_or_another_image_creates_a_new_watch(
    store: Store,
) -> None:
    first = new_watch(store)
    other_channel = new_watch(store, channel="C2")
    other_image = new_watch(store, target=PRIVATE)
    assert len({first.id, other_channel.id, other_image.id}) == 3


def test_find_open_by_channel_and_target_key(store: Store) -> None:
    watch = new_watch(store, target=PRIVATE)
    assert store.find_open(channel_id="C1", target_key=PRIVATE.key) == watch
    assert store.find_open(channel_id="C2", target_key=PRIVATE.key) is None
    assert store.find_open(channel_id="C1", target_key=ALPINE.key) is None


def test_get_unknown_id_is_none(store: Store) -> None:
    assert store.get(12345) is None


def test_finished_watch_frees_the_slot_for_a_new_one(store: Store) -> None:
    first = new_watch(store)
    assert store.finish(first.id, state=WatchState.COMPLETED, now=at(60)) is not None
    assert store.find_open(channel_id="C1", target_key=ALPINE.key) is None
    second, created = store.create_watch(
        target=ALPINE, channel_id="C1", requester_id="U1", now=at(90)
    )
    assert created
    assert second.id != first.id


# --- activate / progress --------------------------------------------------------------


def test_activate_moves_pending_to_active_with_parent_ts(store: Store) -> None:
    watch = new_watch(store)
    active = store.activate(watch.id, parent_ts="1700000000.000100", now=at(1))
    assert active.state is WatchState.ACTIVE
    assert active.parent_ts == "1700000000.000100"
    assert active.updated_at == at(1)
    assert active.created_at == T0
    assert store.get(watch.id) == active


def test_activate_leaves_a_watch_that_is_no_longer_pending_unchanged(store: Store) -> None:
    watch = new_watch(store)
    stopped = store.finish(watch.id, state=WatchState.STOPPED, now=at(1))
    assert stopped is not None
    assert store.activate(watch.id, parent_ts="1.2", now=at(2)) == stopped


def test_activate_unknown_id_raises(store: Store) -> None:
    with pytest.raises(WatchNotFoundError):
        store.activate(999, parent_ts="1.2", now=T0)


def test_record_progress_round_trips_the_snapshot(store: Store) -> None:
    watch = new_watch(store)
    snapshot = scanning(3)
    updated = store.record_progress(
        watch.id, snapshot=snapshot, saw_running=True, thread_posted_at=at(5), now=at(5)
    )
    assert updated.last_snapshot == snapshot
    assert updated.saw_running is True
    assert updated.last_thread_post_at == at(5)
    assert updated.updated_at == at(5)
    assert store.get(watch.id) == updated


def test_record_progress_without_post_time_keeps_the_last_one(store: Store) -> None:
    watch = new_watch(store)
    store.record_progress(
        watch.id, snapshot=scanning(1), saw_running=True, thread_posted_at=at(5), now=at(5)
    )
    later = store.record_progress(
        watch.id, snapshot=scanning(2), saw_running=False, thread_posted_at=None, now=at(20)
    )
    assert later.last_thread_post_at == at(5)
    assert later.last_snapshot == scanning(2)
    assert later.saw_running is True  # once seen running, always seen running
    assert later.updated_at == at(20)


def test_record_progress_on_a_finished_watch_changes_nothing(store: Store) -> None:
    watch = new_watch(store)
    finished = store.finish(watch.id, state=WatchState.EXPIRED, now=at(1))
    assert finished is not None
    after = store.record_progress(
        watch.id, snapshot=scanning(9), saw_running=True, thread_posted_at=at(2), now=at(2)
    )
    assert after == finished


# --- finish ---------------------------------------------------------------------------


def test_finish_is_a_compare_and_set_second_call_returns_none(store: Store) -> None:
    watch = new_watch(store)
    final = ProgressSnapshot(phase=Phase.COMPLETE, image_scan=Step(total=10, scanned=10))
    done = store.finish(watch.id, state=WatchState.COMPLETED, now=at(100), snapshot=final)
    assert done is not None
    assert done.state is WatchState.COMPLETED
    assert done.finished_at == done.updated_at == at(100)
    assert done.last_snapshot == final
    assert store.finish(watch.id, state=WatchState.STOPPED, now=at(101)) is None
    assert store.get(watch.id) == done


def test_finish_without_snapshot_keeps_the_last_one(store: Store) -> None:
    watch = new_watch(store)
    store.record_progress(
        watch.id, snapshot=scanning(4), saw_running=True, thread_posted_at=None, now=at(1)
    )
    done = store.finish(watch.id, state=WatchState.FAILED, now=at(2))
    assert done is not None
    assert done.last_snapshot == scanning(4)


def test_finish_refuses_an_open_state(store: Store) -> None:
    watch = new_watch(store)
    with pytest.raises(ValueError, match="final state"):
        store.finish(watch.id, state=WatchState.ACTIVE, now=at(1))
    assert store.get(watch.id) == watch


def test_finish_unknown_id_raises(store: Store) -> None:
    with pytest.raises(WatchNotFoundError):
        store.finish(424242, state=WatchState.STOPPED, now=T0)


# --- list_open ------------------------------------------------------------------------


def test_list_open_is_oldest_first_filters_channel_and_skips_finished(store: Store) -> None:
    ids = []
    for offset, (channel, target) in enumerate(
        [("C2", PRIVATE), ("C1", ALPINE), ("C1", PRIVATE), ("C2", ALPINE)]
    ):
        # Created out of order: the list follows created_at, not the id.
        watch, _ = store.create_watch(
            target=target, channel_id=channel, requester_id="U1", now=at(100 - offset * 10)
        )
        ids.append(watch.id)
    store.activate(ids[1], parent_ts="1.1", now=at(200))
    store.finish(ids[2], state=WatchState.STOPPED, now=at(200))

    assert [w.id for w in store.list_open()] == [ids[3], ids[1], ids[0]]
    assert [w.id for w in store.list_open(channel_id="C1")] == [ids[1]]
    assert [w.id for w in store.list_open(channel_id="C2")] == [ids[3], ids[0]]
    assert store.list_open(channel_id="C9") == []


# --- time handling --------------------------------------------------------------------


def test_datetimes_come_back_timezone_aware_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2025, 6, 1, 14, 0, 0, tzinfo=plus_two)
    watch, _ = store.create_watch(target=ALPINE, channel_id="C1", requester_id="U1", now=local)
    store.record_progress(
        watch.id, snapshot=scanning(1), saw_running=True, thread_posted_at=local, now=local
    )
    done = store.finish(watch.id, state=WatchState.COMPLETED, now=local)
    assert done is not None
    for value in (done.created_at, done.updated_at, done.last_thread_post_at, done.finished_at):
        assert value is not None
        assert value.tzinfo is UTC
        assert value == datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.create_watch(
            target=ALPINE, channel_id="C1", requester_id="U1", now=datetime(2025, 1, 1)
        )
    assert store.list_open() == []


# --- leases ---------------------------------------------------------------------------


def test_lock_is_exclusive_while_it_lasts(store: Store) -> None:
    ttl = timedelta(minutes=5)
    assert store.try_lock("poll", owner="a", ttl=ttl, now=T0)
    assert not store.try_lock("poll", owner="b", ttl=ttl, now=at(29))
    assert store.try_lock("other", owner="b", ttl=ttl, now=at(29))  # names are independent
    assert store.try_lock("poll", owner="a", ttl=ttl, now=at(31))  # the owner renews


def test_an_expired_lock_is_taken_over_by_the_database_clock(store: Store) -> None:
    """Expiry is measured by the database's clock: real time passes, the callers' clocks
    (here frozen at T0) play no part."""
    assert store.try_lock("poll", owner="a", ttl=timedelta(milliseconds=200), now=T0)
    time.sleep(0.5)
    assert store.try_lock("poll", owner="b", ttl=timedelta(minutes=5), now=T0)
    assert not store.try_lock("poll", owner="a", ttl=timedelta(minutes=5), now=T0)


def test_lock_owner_renewing_extends_its_lease(store: Store) -> None:
    assert store.try_lock("poll", owner="a", ttl=timedelta(milliseconds=200), now=T0)
    assert store.try_lock("poll", owner="a", ttl=timedelta(minutes=5), now=T0)  # renewed
    time.sleep(0.5)  # past the first ttl, well within the renewed one
    assert not store.try_lock("poll", owner="b", ttl=timedelta(minutes=5), now=T0)


def test_a_replica_whose_clock_runs_30s_ahead_cannot_take_over_a_live_lease(
    store: Store,
) -> None:
    """Replica b's process clock is skewed +30 s; the lease a renewed a moment ago (ttl
    10 s) is still live by the database's clock, so b does not get it."""
    real = datetime.now(UTC)
    ttl = timedelta(seconds=10)
    assert store.try_lock("poll", owner="a", ttl=ttl, now=real)
    skewed = real + timedelta(seconds=30)
    assert not store.try_lock("poll", owner="b", ttl=ttl, now=skewed)
    assert store.try_lock("poll", owner="a", ttl=ttl, now=real)  # a still holds it
    assert store.claim_thread("C1:1", owner="a", ttl=ttl, now=real)
    assert not store.claim_thread("C1:1", owner="b", ttl=ttl, now=skewed)


def test_a_lease_lasting_longer_than_its_ttl_counts_as_expired(store: Store) -> None:
    """A lease ending further away than a ttl from now was written by a clock that has
    since been stepped back: it is free, so polling does not wait for the clock."""
    assert store.try_lock("poll", owner="a", ttl=timedelta(days=2), now=T0)
    assert store.try_lock("poll", owner="b", ttl=timedelta(minutes=5), now=T0)


def test_release_lock_frees_it_only_for_its_owner(store: Store) -> None:
    ttl = timedelta(minutes=5)
    assert store.try_lock("poll", owner="a", ttl=ttl, now=T0)
    store.release_lock("poll", owner="b")  # not b's: nothing happens
    assert not store.try_lock("poll", owner="b", ttl=ttl, now=at(1))
    store.release_lock("poll", owner="a")
    assert store.try_lock("poll", owner="b", ttl=ttl, now=at(2))
    store.release_lock("never-taken", owner="a")  # harmless


def test_lock_needs_a_positive_ttl(store: Store) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.try_lock("poll", owner="a", ttl=timedelta(0), now=T0)


# --- several threads / replicas -------------------------------------------------------


def _run_threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)


def _migrate(url: str) -> None:
    store = Store(url)
    try:
        store.migrate()
    finally:
        store.close()


def test_concurrent_create_from_8_replicas_creates_exactly_one(shared_database_url: str) -> None:
    _migrate(shared_database_url)
    replicas = [Store(shared_database_url) for _ in range(8)]
    barrier = threading.Barrier(len(replicas))
    results: list[tuple[Watch, bool]] = []
    errors: list[BaseException] = []

    def create(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(
                replicas[index].create_watch(
                    target=ALPINE, channel_id="C1", requester_id=f"U{index}", now=at(index)
                )
            )
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    try:
        _run_threads(len(replicas), create)
    finally:
        for replica in replicas:
            replica.close()
    assert errors == []
    assert sum(created for _, created in results) == 1
    assert len({watch.id for watch, _ in results}) == 1


def test_concurrent_lock_attempts_have_exactly_one_winner(shared_database_url: str) -> None:
    _migrate(shared_database_url)
    replicas = [Store(shared_database_url) for _ in range(8)]
    barrier = threading.Barrier(len(replicas))
    winners: list[int] = []
    errors: list[BaseException] = []

    def take(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            if replicas[index].try_lock(
                "poll", owner=f"r{index}", ttl=timedelta(seconds=60), now=T0
            ):
                winners.append(index)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    try:
        _run_threads(len(replicas), take)
    finally:
        for replica in replicas:
            replica.close()
    assert errors == []
    assert len(winners) == 1


def test_in_memory_store_is_safe_to_share_between_threads() -> None:
    store = Store("sqlite:///:memory:")
    store.migrate()
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for n in range(20):
                target = ScanTarget(repo=f"team/app{index}", tag=str(n))
                watch, _ = store.create_watch(
                    target=target, channel_id="C1", requester_id="U1", now=at(n)
                )
                store.activate(watch.id, parent_ts=f"{index}.{n}", now=at(n))
                store.finish(watch.id, state=WatchState.COMPLETED, now=at(n + 1))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    try:
        _run_threads(6, work)
        assert errors == []
        assert store.list_open() == []
        assert store.get(6 * 20) is not None
        assert store.get(6 * 20 + 1) is None
    finally:
        store.close()


# --- robustness -----------------------------------------------------------------------


#: Stored snapshot texts that cannot be read: not JSON, not an object, nested too deeply.
UNREADABLE_SNAPSHOTS = ("{not json", "[1, 2]", "5", "null", "[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("garbage", UNREADABLE_SNAPSHOTS, ids=range(len(UNREADABLE_SNAPSHOTS)))
def test_an_unreadable_snapshot_reads_as_none_for_watches_and_regular_runs_alike(
    tmp_path: Path, garbage: str
) -> None:
    """Watches and regular runs read their snapshot with one codec function: whatever is
    unreadable is no snapshot, and the row stays readable.

    Failed before the fix: the two copies of the snapshot's JSON code in the store let a
    too deeply nested text escape as ``RecursionError``, making the watch and the run
    unreadable (and they caught different exceptions otherwise).
    """
    url = f"sqlite:///{tmp_path / 'scanbot.db'}"
    store = Store(url)
    store.migrate()
    watch = new_watch(store)
    store.record_progress(
        watch.id, snapshot=scanning(1), saw_running=True, thread_posted_at=None, now=at(1)
    )
    run, _ = store.create_run(
        scan_key="1",
        channel_id="C1",
        snapshot=scanning(1),
        follow=FollowState(),
        now=at(1),
        owe=lambda _run: [],
    )
    raw = sa.create_engine(url)
    try:
        with raw.begin() as connection:
            for table, row_id in (("watches", watch.id), ("regular_runs", run.id)):
                connection.execute(
                    sa.text(f"UPDATE {table} SET last_snapshot = :s WHERE id = :id"),
                    {"s": garbage, "id": row_id},
                )
        read = store.get(watch.id)
        assert read is not None
        assert read.last_snapshot is None
        assert read.saw_running is True
        (open_run,) = store.open_runs()
        assert open_run.id == run.id
        assert open_run.last_snapshot is None
    finally:
        raw.dispose()
        store.close()


def test_unreadable_stored_snapshot_reads_as_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scanbot.db'}"
    store = Store(url)
    store.migrate()
    watch = new_watch(store)
    store.record_progress(
        watch.id, snapshot=scanning(1), saw_running=True, thread_posted_at=None, now=at(1)
    )
    raw = sa.create_engine(url)
    try:
        for garbage in ("{not json", "[1, 2]"):
            with raw.begin() as connection:
                connection.execute(
                    sa.text("UPDATE watches SET last_snapshot = :s WHERE id = :id"),
                    {"s": garbage, "id": watch.id},
                )
            read = store.get(watch.id)
            assert read is not None
            assert read.last_snapshot is None
            assert read.saw_running is True
    finally:
        raw.dispose()
        store.close()


def test_replicas_racing_for_one_lease_never_hold_it_at_the_same_time(
    shared_database_url: str,
) -> None:
    """Three replicas (one clock 30 s ahead), four threads each, claim, hold briefly and
    release one thread's lease for 3 s: whoever got it was alone while holding it.  A claim
    that waited on another's row lock judges that lease by the time it runs, not by when
    its transaction began."""
    _migrate(shared_database_url)
    replicas = [Store(shared_database_url) for _ in range(3)]
    holding: list[str] = []
    guard = threading.Lock()
    overlaps: list[tuple[str, ...]] = []
    wins: list[str] = []
    errors: list[BaseException] = []

    def race(index: int) -> None:
        store, owner = replicas[index // 4], f"r{index // 4}:{index % 4}"
        skew = timedelta(seconds=30 if index // 4 == 2 else 0)
        stop = time.monotonic() + 3
        try:
            while time.monotonic() < stop:
                now = datetime.now(UTC) + skew
                if store.claim_thread("C1:1", owner=owner, ttl=timedelta(seconds=5), now=now):
                    with guard:
                        if holding:
                            overlaps.append((*holding, owner))
                        holding.append(owner)
                        wins.append(owner)
                    time.sleep(0.002)
                    with guard:
                        holding.remove(owner)
                    store.release_thread("C1:1", owner=owner)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    try:
        _run_threads(12, race)
    finally:
        for replica in replicas:
            replica.close()
    assert errors == []
    assert wins  # the lease was taken, again and again
    assert overlaps == []
