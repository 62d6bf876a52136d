"""bot.delivery.budget: token buckets per method tier and per channel, on an injected clock."""

from __future__ import annotations

import threading

import pytest

from bot.delivery.budget import (
    METHOD_LIMITS,
    POST_PER_CHANNEL,
    BudgetExhaustedError,
    BudgetLimits,
    Limit,
    LocalBuckets,
    SlackBudget,
    Unlimited,
)
from tests.support.clocks import ManualClock


def _budget(clock: ManualClock, limits: BudgetLimits | None = None) -> SlackBudget:
    def sleep(seconds: float) -> None:
        clock.advance(seconds)

    return SlackBudget(LocalBuckets(clock), limits, sleep=sleep)


def test_a_tier_allows_its_burst_then_one_call_per_refill_interval() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock)
    tier3 = METHOD_LIMITS["chat.update"]
    granted = [budget.try_acquire("chat.update") for _ in range(int(tier3.burst))]
    assert granted == [0.0] * int(tier3.burst)
    wait = budget.try_acquire("chat.update")
    assert wait == pytest.approx(60 / tier3.per_minute)  # 1.2 s at 50 a minute
    clock.advance(wait)
    assert budget.try_acquire("chat.update") == 0.0
    assert budget.try_acquire("chat.update") > 0


def test_over_a_minute_a_tier_never_exceeds_its_rate_plus_burst() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock)
    calls = 0
    for _ in range(600):  # every 0.1 s for a minute
        if budget.try_acquire("chat.update") == 0.0:
            calls += 1
        clock.advance(0.1)
    tier3 = METHOD_LIMITS["chat.update"]
    assert calls <= tier3.per_minute + tier3.burst
    assert calls >= tier3.per_minute  # and the budget is used, not wasted


def test_a_refused_call_takes_nothing_from_the_budget() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock, BudgetLimits(methods={"m": Limit(60, 1)}))
    assert budget.try_acquire("m") == 0.0
    assert budget.try_acquire("m") == pytest.approx(1.0)
    clock.advance(0.5)
    assert budget.try_acquire("m") == pytest.approx(0.5)  # not pushed further away
    clock.advance(0.5)
    assert budget.try_acquire("m") == 0.0


def test_posts_are_budgeted_per_channel_and_apart_from_every_tier() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock)
    burst = int(POST_PER_CHANNEL.burst)
    for _ in range(burst):
        assert budget.try_acquire("chat.postMessage", channel="C1") == 0.0
    assert budget.try_acquire("chat.postMessage", channel="C1") == pytest.approx(1.0)
    assert budget.try_acquire("chat.postMessage", channel="C2") == 0.0
    assert budget.try_acquire("chat.update") == 0.0


def test_methods_have_buckets_of_their_own_and_unknown_ones_are_tier_2() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock)
    while budget.try_acquire("conversations.history") == 0.0:
        pass
    assert budget.try_acquire("conversations.replies") == 0.0
    assert budget.try_acquire("views.publish") == 0.0
    tier2 = BudgetLimits.published().default
    unknown = [budget.try_acquire("users.list") for _ in range(int(tier2.burst) + 1)]
    assert unknown[:-1] == [0.0] * int(tier2.burst)
    assert unknown[-1] == pytest.approx(3.0)  # Tier 2: 20 a minute


def test_acquire_waits_for_the_budget_on_the_injected_clock() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock, BudgetLimits(methods={"views.publish": Limit(60, 1)}))
    budget.acquire("views.publish")
    budget.acquire("views.publish")  # slept 1 s on the manual clock
    assert clock() == pytest.approx(1.0)


def test_acquire_gives_up_after_its_timeout() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock, BudgetLimits(methods={"m": Limit(1, 1)}))
    budget.acquire("m")
    with pytest.raises(BudgetExhaustedError, match="no budget within 5 s"):
        budget.acquire("m", timeout=5.0)


def test_a_call_paid_for_by_try_acquire_is_not_charged_again_in_that_thread() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock, BudgetLimits(methods={}, post_per_channel=Limit(60, 1)))
    assert budget.try_acquire("chat.postMessage", channel="C1") == 0.0
    with budget.paid("chat.postMessage", "C1"):
        budget.acquire("chat.postMessage", channel="C1", timeout=0.0)  # the paid call
        with pytest.raises(BudgetExhaustedError):  # a second call is charged
            budget.acquire("chat.postMessage", channel="C1", timeout=0.0)


def test_a_payment_belongs_to_its_thread_and_its_channel() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock, BudgetLimits(methods={}, post_per_channel=Limit(60, 1)))
    budget.try_acquire("chat.postMessage", channel="C1")
    budget.try_acquire("chat.postMessage", channel="C2")
    failures: list[Exception] = []

    def other_thread() -> None:
        try:
            budget.acquire("chat.postMessage", channel="C1", timeout=0.0)
        except BudgetExhaustedError as exc:
            failures.append(exc)

    with budget.paid("chat.postMessage", "C1"):
        with pytest.raises(BudgetExhaustedError):
            budget.acquire("chat.postMessage", channel="C2", timeout=0.0)
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert len(failures) == 1


def test_scaled_limits_and_unlimited_buckets() -> None:
    bigger = BudgetLimits.published().scaled(10)
    assert bigger.of("chat.update") == Limit(500, 80)
    budget = SlackBudget(Unlimited())
    assert all(budget.try_acquire("chat.update") == 0.0 for _ in range(1000))


def test_a_limit_must_allow_something() -> None:
    with pytest.raises(ValueError, match="per_minute > 0"):
        Limit(0, 1)


def test_a_call_that_keeps_a_reserve_goes_only_while_the_reserve_stays() -> None:
    """A progress reply leaves one post of its channel for a completion: with three at
    once, two go and the third waits (1 s) while a call keeping nothing still goes."""
    clock = ManualClock(0.0)
    budget = _budget(clock, BudgetLimits(methods={}, post_per_channel=Limit(60, 3)))
    assert budget.try_acquire("chat.postMessage", channel="C1", keep=1) == 0.0
    assert budget.try_acquire("chat.postMessage", channel="C1", keep=1) == 0.0
    assert budget.try_acquire("chat.postMessage", channel="C1", keep=1) == pytest.approx(1.0)
    assert budget.try_acquire("chat.postMessage", channel="C1") == 0.0  # the completion
    assert budget.try_acquire("chat.postMessage", channel="C1") == pytest.approx(1.0)


def test_a_reserve_never_takes_the_whole_bucket() -> None:
    clock = ManualClock(0.0)
    budget = _budget(clock, BudgetLimits(methods={"m": Limit(60, 1)}))
    assert budget.try_acquire("m", keep=5) == 0.0  # a bucket of one: nothing is kept
