"""Finished watches are forgotten after the retention period; open ones never are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config.settings import load_settings
from bot.domain.images import ScanTarget
from bot.domain.watch import WatchState
from bot.store import Store
from bot.watcher.job import prune_history
from bot.watcher.lifecycle import WatchContext
from bot.watcher.services import Services
from tests.support.delivery import sent_messages

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_prune_deletes_only_watches_finished_before_the_cutoff(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.migrate()
    try:
        ids = []
        for n in range(3):
            watch, _ = store.create_watch(
                target=ScanTarget(repo=f"team/app{n}", tag="1"),
                channel_id="C1",
                requester_id="U1",
                now=T0,
            )
            ids.append(watch.id)
        store.finish(ids[0], state=WatchState.COMPLETED, now=T0)
        store.finish(ids[1], state=WatchState.STOPPED, now=T0 + timedelta(days=20))
        # ids[2] stays open, however old.

        assert store.prune_finished(finished_before=T0 + timedelta(days=10)) == 1
        assert store.get(ids[0]) is None
        assert store.get(ids[1]) is not None
        assert [w.id for w in store.list_open()] == [ids[2]]
    finally:
        store.close()


def test_the_prune_job_uses_the_retention_setting(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.migrate()
    try:
        watch, _ = store.create_watch(
            target=ScanTarget(repo="team/app", tag="1"), channel_id="C1", requester_id="U1", now=T0
        )
        store.finish(watch.id, state=WatchState.COMPLETED, now=T0)
        settings = load_settings({"SCANBOT_RETENTION_DAYS": "7"})

        def ctx_at(now: datetime) -> WatchContext:
            services = Services(settings=settings, console=None, store=store, clock=lambda: now)  # type: ignore[arg-type]
            return WatchContext(services=services, delivery=None)  # type: ignore[arg-type]

        assert prune_history(ctx_at(T0 + timedelta(days=6))) == 0
        assert prune_history(ctx_at(T0 + timedelta(days=8))) == 1
    finally:
        store.close()


def test_prune_forgets_delivered_messages_but_never_those_still_owed(tmp_path: Path) -> None:
    from bot.domain import owed
    from bot.domain.events import ImageFollow, Stopped

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.migrate()
    try:
        subject = ImageFollow(1, ScanTarget(repo="team/app", tag="1"), "U1", T0)
        store.owe([owed.reply("watch:1", "C1", Stopped(subject, by_user="U1"))], now=T0)
        store.owe([owed.reply("watch:2", "C1", Stopped(subject, by_user="U1"))], now=T0)
        (delivered,) = store.pending("watch:1")
        store.mark_sent(delivered, ts="1.1", now=T0)

        assert store.prune_outbox(created_before=T0 + timedelta(days=1)) == 1
        assert sent_messages(store, "watch:1") == []
        assert len(store.pending("watch:2")) == 1  # still owed: kept, however old
    finally:
        store.close()
