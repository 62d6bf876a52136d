"""The budget of Slack calls held in the database: one budget for every replica."""

from __future__ import annotations

import threading

import pytest

from bot.delivery.budget import BudgetLimits, Limit, SharedBuckets, SlackBudget
from bot.store import Store

TIER = Limit(60, 2)  # one a second, two at once


def test_tokens_are_taken_and_refilled_by_the_time_passed(store: Store) -> None:
    assert store.take_tokens([("m", TIER)], now=100.0) == 0.0
    assert store.take_tokens([("m", TIER)], now=100.0) == 0.0
    assert store.take_tokens([("m", TIER)], now=100.0) == pytest.approx(1.0)
    assert store.take_tokens([("m", TIER)], now=100.5) == pytest.approx(0.5)
    assert store.take_tokens([("m", TIER)], now=101.0) == 0.0
    assert store.take_tokens([("m", TIER)], now=200.0) == 0.0  # never more than the burst
    assert store.take_tokens([("m", TIER)], now=200.0) == 0.0
    assert store.take_tokens([("m", TIER)], now=200.0) > 0


def test_a_take_from_several_buckets_takes_from_all_or_none(store: Store) -> None:
    store.take_tokens([("a", Limit(60, 1))], now=0.0)
    wait = store.take_tokens([("a", Limit(60, 1)), ("b", Limit(60, 1))], now=0.5)
    assert wait == pytest.approx(0.5)
    assert store.take_tokens([("b", Limit(60, 1))], now=0.5) == 0.0  # b was not charged


def test_the_database_clock_times_the_buckets(store: Store) -> None:
    budget = SlackBudget(SharedBuckets(store), BudgetLimits(methods={"m": Limit(1, 2)}))
    assert budget.try_acquire("m") == 0.0
    assert budget.try_acquire("m") == 0.0
    assert 55.0 < budget.try_acquire("m") <= 60.0  # one a minute: about a minute to wait


def test_replicas_sharing_the_database_share_one_budget(shared_database_url: str) -> None:
    replicas = [Store(shared_database_url) for _ in range(3)]
    replicas[0].migrate()
    limits = BudgetLimits(methods={"chat.update": Limit(1, 5)})
    budgets = [SlackBudget(SharedBuckets(store), limits) for store in replicas]
    granted: list[int] = []
    lock = threading.Lock()

    def spend(budget: SlackBudget) -> None:
        for _ in range(5):
            if budget.try_acquire("chat.update") == 0.0:
                with lock:
                    granted.append(1)

    try:
        workers = [threading.Thread(target=spend, args=(b,)) for b in budgets]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        for store in replicas:
            store.close()
    assert len(granted) == 5  # 15 tries by three replicas; the burst of one workspace


def test_a_take_that_keeps_a_reserve_leaves_it_in_the_database(store: Store) -> None:
    three = Limit(60, 3)
    assert store.take_tokens([("p", three)], now=0.0, keep=1) == 0.0
    assert store.take_tokens([("p", three)], now=0.0, keep=1) == 0.0
    assert store.take_tokens([("p", three)], now=0.0, keep=1) == pytest.approx(1.0)
    assert store.take_tokens([("p", three)], now=0.0) == 0.0  # the reserve, for a final
    assert store.take_tokens([("p", three)], now=0.0) == pytest.approx(1.0)
