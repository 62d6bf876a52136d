"""The database work of every follow and every poll cycle leaves no reference cycles.

SQLAlchemy statements built afresh on each call leave their objects in cycles (a lease
claim's ``INSERT … ON CONFLICT`` with its ``excluded`` alias, the select of whole watch
rows with the follow clock's subquery): about 200 objects a follow, which the cyclic
collector then walks with the interpreter lock held while acks wait.  Those statements
are built once; these tests count what the collector finds after many calls, on every
database the store runs on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.images import ScanTarget
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.steps import Step
from bot.store import Store
from tests.support.garbage import cyclic_garbage

T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
CALLS = 50


def test_claiming_and_renewing_a_lease_leaves_no_cycles(store: Store) -> None:
    def claim() -> None:
        assert store.try_lock("scanbot.test", owner="me", ttl=timedelta(seconds=30))

    found = cyclic_garbage(claim, CALLS)

    assert found < CALLS, f"{found} objects in cycles after {CALLS} claims"


def test_reading_a_watch_leaves_no_cycles(store: Store) -> None:
    watch, _created = store.create_watch(target=ALPINE, channel_id="C1", requester_id="U1", now=T0)

    found = cyclic_garbage(lambda: store.get(watch.id), CALLS)

    assert found < CALLS, f"{found} objects in cycles after {CALLS} reads"


def test_recording_progress_leaves_no_cycles(store: Store) -> None:
    watch, _created = store.create_watch(target=ALPINE, channel_id="C1", requester_id="U1", now=T0)
    snapshot = ProgressSnapshot(phase=Phase.SCANNING, image_scan=Step(total=10, scanned=3))

    def record() -> None:
        store.record_progress(
            watch.id, snapshot=snapshot, saw_running=True, thread_posted_at=None, now=T0
        )

    found = cyclic_garbage(record, CALLS)

    assert found < CALLS, f"{found} objects in cycles after {CALLS} records"
