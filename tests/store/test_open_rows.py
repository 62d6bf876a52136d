"""The poll cycle's memory of the open watches (:class:`OpenWatches`) on every database:
rows are read whole only where a change raised their revision; the time followed is
always the database's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import owed
from bot.domain.events import ParentView
from bot.domain.images import ScanTarget
from bot.domain.owed import watch_thread
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.steps import Step
from bot.domain.watch import Watch, WatchState
from bot.store import Store
from bot.watcher.open_watches import OpenWatches

T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
RUNNING = ProgressSnapshot(phase=Phase.SCANNING, image_scan=Step(total=10, scanned=1), entries=1)


def open_watches(store: Store, count: int) -> list[Watch]:
    made = []
    for i in range(count):
        watch, _created = store.create_watch(
            target=ScanTarget(repo=f"team/app{i}", tag="1.0"),
            channel_id="C1",
            requester_id="U1",
            now=T0,
            snapshot=RUNNING,
        )
        made.append(store.activate(watch.id, parent_ts=f"1.{i}", now=T0))
    return made


def test_unchanged_watches_are_read_whole_once_and_their_time_followed_stays_current(
    store: Store,
) -> None:
    open_watches(store, 5)
    keeper = OpenWatches(store)
    first = keeper.read()
    assert [watch.id for watch in first.watches] == sorted(watch.id for watch in first.watches)
    assert keeper.rows_read == 5
    assert [first.watched(i) for i in range(5)] == [0.0] * 5

    store.add_watched_time_to_open(2.5)
    second = keeper.read()
    assert keeper.rows_read == 5  # nothing changed but the time followed: no row read
    assert [second.watched(i) for i in range(5)] == [2.5] * 5
    assert second.watches is first.watches  # nothing built anew


def test_time_followed_counts_from_when_each_watch_opened_and_stops_when_it_ends(
    store: Store,
) -> None:
    """The follow clock moves for every watch open at the time; a watch opened later
    starts at 0, and one that ended keeps the time it had."""
    (early,) = open_watches(store, 1)
    store.add_watched_time_to_open(3.0)
    late, _created = store.create_watch(
        target=ScanTarget(repo="team/late", tag="1.0"), channel_id="C1", requester_id="U1", now=T0
    )
    store.add_watched_time_to_open(2.0)
    listing = OpenWatches(store).read()
    followed = {watch.id: listing.watched(i) for i, watch in enumerate(listing.watches)}
    assert followed == {early.id: 5.0, late.id: 2.0}

    finished = store.finish(early.id, state=WatchState.STOPPED, now=T0)
    assert finished is not None
    assert finished.watched_seconds == 5.0
    store.add_watched_time_to_open(4.0)
    assert store.get(early.id).watched_seconds == 5.0  # type: ignore[union-attr]
    assert store.get(late.id).watched_seconds == 6.0  # type: ignore[union-attr]


def test_every_change_of_an_open_watch_is_read_again(store: Store) -> None:
    a, b, c, d = open_watches(store, 4)
    keeper = OpenWatches(store)
    keeper.read()

    moved = ProgressSnapshot(phase=Phase.SCANNING, image_scan=Step(total=10, scanned=5), entries=1)
    store.record_progress(
        a.id, snapshot=moved, saw_running=True, thread_posted_at=None, now=T0 + timedelta(1)
    )
    store.finish(b.id, state=WatchState.STOPPED, now=T0)
    pending, _created = store.create_watch(
        target=ScanTarget(repo="team/new", tag="1.0"), channel_id="C1", requester_id="U1", now=T0
    )
    listed = {watch.id: watch for watch in keeper.read().watches}
    assert keeper.rows_read == 4 + 2  # the progressed one and the new one
    assert listed[a.id].last_snapshot == moved
    assert b.id not in listed
    assert listed[pending.id].state is WatchState.PENDING

    # The sender posts the new watch's parent: PENDING -> ACTIVE with its ts.
    store.owe(
        [owed.parent(watch_thread(pending.id), "C1", ParentView.of(pending, RUNNING, now=T0))],
        now=T0,
    )
    (entry,) = store.pending(watch_thread(pending.id))
    store.mark_sent(entry, ts="9.9", now=T0)
    # Its channel is gone: the thread is closed and the watch fails.
    store.close_thread(watch_thread(c.id), error="channel_not_found", now=T0)
    listed = {watch.id: watch for watch in keeper.read().watches}
    assert listed[pending.id].state is WatchState.ACTIVE
    assert listed[pending.id].parent_ts == "9.9"
    assert c.id not in listed
    assert set(listed) == {a.id, d.id, pending.id}


def test_forgetting_reads_every_row_again(store: Store) -> None:
    open_watches(store, 3)
    keeper = OpenWatches(store)
    keeper.read()
    keeper.forget()
    keeper.read()
    assert keeper.rows_read == 6
