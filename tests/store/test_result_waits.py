"""A completed watch waiting for its scan's result: listed until settled, settled once."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import owed
from bot.domain.events import ImageFollow, ResultMissing
from bot.domain.owed import watch_thread
from bot.domain.watch import WatchState
from bot.store import Store
from tests.store.test_watches import at, new_watch


def test_a_watch_finished_with_a_result_wait_is_listed_until_its_result_is_settled_once(
    store: Store,
) -> None:
    watch = new_watch(store)
    other = new_watch(store, channel="C2")
    store.finish(watch.id, state=WatchState.COMPLETED, now=at(10), result_wait_until=at(610))
    store.finish(other.id, state=WatchState.COMPLETED, now=at(10))

    (waiting,) = store.awaiting_results()
    assert waiting.id == watch.id
    assert waiting.result_wait_until == at(610)
    assert waiting.result_checked_at == at(10)

    store.result_checked([watch.id], now=at(40))
    assert store.awaiting_results()[0].result_checked_at == at(40)

    event = ResultMissing(ImageFollow.of(waiting), timedelta(minutes=10))
    reply = owed.once(watch_thread(watch.id), watch.channel_id, event, name="result")
    assert store.settle_result(watch.id, owed=[reply], now=at(620)) is True
    assert store.settle_result(watch.id, owed=[reply], now=at(621)) is False
    assert store.awaiting_results() == []
    assert len(store.pending(watch_thread(watch.id))) == 1
