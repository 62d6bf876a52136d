"""Rate limits: the sliding window under GET /registry's 30 per 30 s, and the 429 gate."""

from __future__ import annotations

import threading

import pytest

from bot.console.errors import RateLimited
from bot.console.ratelimit import MAX_RETRY_AFTER, RetryAfterGate, SlidingWindowLimiter


class SteppedTime:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_thirty_calls_pass_then_the_next_waits_for_the_window() -> None:
    time = SteppedTime()
    limiter = SlidingWindowLimiter(30, 30.0, max_wait=60.0, clock=time.clock, sleep=time.sleep)
    for second in range(30):
        time.now = float(second) / 2  # 30 calls within 14.5 s
        limiter.acquire()
    assert time.slept == []
    limiter.acquire()  # the 31st waits until the first call is 30 s old
    assert time.slept == [pytest.approx(15.5)]  # from 14.5 s to 30 s
    assert time.now == pytest.approx(30.0)


def test_window_slides() -> None:
    time = SteppedTime()
    limiter = SlidingWindowLimiter(2, 10.0, max_wait=60.0, clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    time.now = 6.0
    limiter.acquire()
    time.now = 10.0  # the first call left the window
    limiter.acquire()
    assert time.slept == []
    limiter.acquire()  # window holds calls at 6 and 10: wait until 16
    assert time.now == pytest.approx(16.0)


def test_long_wait_raises_rate_limited_with_retry_after() -> None:
    time = SteppedTime()
    limiter = SlidingWindowLimiter(1, 30.0, max_wait=5.0, clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    time.now = 10.0
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()
    assert caught.value.retry_after == pytest.approx(20.0)
    assert time.slept == []


def test_concurrent_callers_never_exceed_the_limit() -> None:
    lock = threading.Lock()
    state = {"now": 0.0}
    granted: list[float] = []

    def clock() -> float:
        with lock:
            return state["now"]

    def sleep(seconds: float) -> None:
        with lock:
            state["now"] = max(state["now"], state["now"] + seconds)

    limiter = SlidingWindowLimiter(5, 1.0, max_wait=10.0, clock=clock, sleep=sleep)

    def worker() -> None:
        for _ in range(10):
            limiter.acquire()
            with lock:
                granted.append(state["now"])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(granted) == 40
    for start in granted:
        assert sum(1 for t in granted if start <= t < start + 1.0) <= 5


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        SlidingWindowLimiter(0, 1.0, max_wait=1.0)


def test_retry_after_gate_refuses_until_the_wait_has_passed() -> None:
    now = [100.0]
    gate = RetryAfterGate(clock=lambda: now[0])
    gate.check("GET /x")  # open before any 429
    gate.block(10)
    now[0] += 4
    with pytest.raises(RateLimited) as caught:
        gate.check("GET /x")
    assert caught.value.retry_after == pytest.approx(6.0)
    now[0] += 6
    gate.check("GET /x")


def test_retry_after_gate_keeps_the_later_of_two_waits_and_caps_them() -> None:
    now = [0.0]
    gate = RetryAfterGate(clock=lambda: now[0])
    gate.block(50)
    gate.block(5)
    now[0] = 49
    with pytest.raises(RateLimited):
        gate.check("GET /x")
    gate.block(10**9)
    now[0] = 49 + MAX_RETRY_AFTER + 1
    gate.check("GET /x")
