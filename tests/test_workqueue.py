"""bot.process.workqueue: the bounded queue for the work after an ack.

Work is held on ``threading.Event`` gates, so no test depends on timing; ``wait_idle``'s
timeout is only a guard against a hang.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.process.workqueue import WorkQueue
from tests.support.process import exits_after

GUARD = 10.0  # seconds: only so that a broken queue fails instead of hanging


@pytest.fixture
def queue() -> Iterator[WorkQueue]:
    work = WorkQueue(threads=2, capacity=2)
    yield work
    work.close(timeout=GUARD)


def blocked(gate: threading.Event, started: threading.Event | None = None) -> Callable[[], None]:
    def work() -> None:
        if started is not None:
            started.set()
        assert gate.wait(GUARD)

    return work


def unexpected(error: Exception) -> None:
    raise AssertionError(f"no error expected: {error!r}")


def test_reserve_gives_a_place_while_there_is_capacity(queue: WorkQueue) -> None:
    reservation = queue.reserve()
    assert reservation is not None
    assert queue.busy == 1
    reservation.submit(lambda: None, on_error=unexpected)
    assert queue.wait_idle(GUARD)


def test_reserve_when_full_returns_none_without_waiting(queue: WorkQueue) -> None:
    """Places reserved but not yet submitted count: the queue is full before the ack."""
    gate = threading.Event()
    first, second = queue.reserve(), queue.reserve()
    assert first is not None
    assert second is not None
    first.submit(blocked(gate), on_error=unexpected)
    assert queue.reserve() is None  # would hang here if reserve waited for a place
    second.submit(blocked(gate), on_error=unexpected)
    assert queue.reserve() is None
    gate.set()
    assert queue.wait_idle(GUARD)


def test_a_place_is_given_back_when_its_work_is_done(queue: WorkQueue) -> None:
    done: list[int] = []
    for round_ in range(5):  # more rounds than the capacity
        reservation = queue.reserve()
        assert reservation is not None
        reservation.submit(functools.partial(done.append, round_), on_error=unexpected)
        assert queue.wait_idle(GUARD)
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert queue.busy == 0


def test_an_error_in_the_work_goes_to_on_error(queue: WorkQueue) -> None:
    errors: list[Exception] = []
    boom = ValueError("console said no")

    def work() -> None:
        raise boom

    reservation = queue.reserve()
    assert reservation is not None
    reservation.submit(work, on_error=errors.append)
    assert queue.wait_idle(GUARD)
    assert errors == [boom]


def test_capacity_is_given_back_after_errors(queue: WorkQueue) -> None:
    def work() -> None:
        raise RuntimeError("failed")

    for _ in range(4):
        reservation = queue.reserve()
        assert reservation is not None
        reservation.submit(work, on_error=lambda _error: None)
        assert queue.wait_idle(GUARD)
    assert queue.busy == 0
    again = [queue.reserve(), queue.reserve()]  # the full capacity is available again
    for reservation in again:
        assert reservation is not None
        reservation.submit(lambda: None, on_error=unexpected)
    assert queue.wait_idle(GUARD)


def test_capacity_is_given_back_even_when_on_error_fails_itself(queue: WorkQueue) -> None:
    def work() -> None:
        raise RuntimeError("failed")

    def on_error(error: Exception) -> None:
        raise RuntimeError("the error handler failed too") from error

    reservation = queue.reserve()
    assert reservation is not None
    reservation.submit(work, on_error=on_error)
    assert queue.wait_idle(GUARD)
    assert queue.busy == 0


def test_wait_idle_waits_for_running_work(queue: WorkQueue) -> None:
    gate, started = threading.Event(), threading.Event()
    reservation = queue.reserve()
    assert reservation is not None
    reservation.submit(blocked(gate, started), on_error=unexpected)
    assert started.wait(GUARD)
    assert queue.wait_idle(timeout=0) is False  # still running: not idle
    gate.set()
    assert queue.wait_idle(GUARD) is True


def test_wait_idle_counts_reserved_but_unsubmitted_places(queue: WorkQueue) -> None:
    reservation = queue.reserve()
    assert reservation is not None
    assert queue.wait_idle(timeout=0) is False
    reservation.submit(lambda: None, on_error=unexpected)
    assert queue.wait_idle(GUARD) is True


def test_a_reservation_is_used_once(queue: WorkQueue) -> None:
    reservation = queue.reserve()
    assert reservation is not None
    reservation.submit(lambda: None, on_error=unexpected)
    with pytest.raises(RuntimeError, match="used once"):
        reservation.submit(lambda: None, on_error=unexpected)
    assert queue.wait_idle(GUARD)
    assert queue.busy == 0


def test_work_runs_on_the_queues_own_threads(queue: WorkQueue) -> None:
    names: list[str] = []
    reservation = queue.reserve()
    assert reservation is not None
    reservation.submit(lambda: names.append(threading.current_thread().name), on_error=unexpected)
    assert queue.wait_idle(GUARD)
    assert names[0].startswith("scanbot-work")


def test_close_finishes_accepted_work() -> None:
    work = WorkQueue(threads=1, capacity=3)
    done: list[int] = []
    for n in range(3):
        reservation = work.reserve()
        assert reservation is not None
        reservation.submit(functools.partial(done.append, n), on_error=unexpected)
    work.close(timeout=GUARD)
    assert done == [0, 1, 2]
    assert work.busy == 0


def test_a_cancelled_reservation_gives_its_place_back() -> None:
    queue = WorkQueue(threads=1, capacity=1)
    try:
        reservation = queue.reserve()
        assert reservation is not None
        assert queue.reserve() is None  # full
        reservation.cancel()
        reservation.cancel()  # twice is harmless
        assert queue.busy == 0
        assert queue.reserve() is not None
    finally:
        queue.close(timeout=1)


# --- stopping ----------------------------------------------------------------------------


def test_close_drops_work_not_started_in_time_and_tells_its_users() -> None:
    """Work still queued when the grace runs out never runs; ``on_dropped`` runs instead."""
    work = WorkQueue(threads=1, capacity=3)
    gate, started = threading.Event(), threading.Event()
    ran: list[str] = []
    told: list[str] = []
    first = work.reserve()
    assert first is not None
    first.submit(blocked(gate, started), on_error=unexpected, on_dropped=lambda: told.append("1"))
    assert started.wait(GUARD)
    for name in ("2", "3"):
        reservation = work.reserve()
        assert reservation is not None
        reservation.submit(
            functools.partial(ran.append, name),
            on_error=unexpected,
            on_dropped=functools.partial(told.append, name),
        )
    work.close(timeout=0.05)  # the first piece holds the only thread past the grace
    assert told == ["2", "3"]
    assert work.busy == 1  # the running piece is abandoned, not interrupted
    gate.set()
    assert work.wait_idle(GUARD)
    assert ran == []


def test_work_failing_after_the_stop_is_logged_not_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A running piece that fails once the bot stopped (its console and database closed
    under it) is one log line, not an internal error shown to its user."""
    work = WorkQueue(threads=1, capacity=1)
    gate, started = threading.Event(), threading.Event()

    def fails_after_the_stop() -> None:
        started.set()
        assert gate.wait(GUARD)
        raise RuntimeError("Cannot send a request, as the client has been closed.")

    reservation = work.reserve()
    assert reservation is not None
    reservation.submit(fails_after_the_stop, on_error=unexpected)
    assert started.wait(GUARD)
    work.close(timeout=0.05)
    gate.set()
    assert work.wait_idle(GUARD)
    assert "abandoned Slack work failed after the stop: RuntimeError" in caplog.text


def test_a_stopping_queue_takes_no_new_work() -> None:
    work = WorkQueue(threads=1, capacity=2)
    work.close(timeout=GUARD)
    assert work.reserve() is None


def test_work_submitted_after_the_stop_is_dropped_and_its_user_told() -> None:
    """A place reserved just before the stop, submitted after it: the work never runs."""
    work = WorkQueue(threads=1, capacity=2)
    reservation = work.reserve()
    assert reservation is not None
    closing = threading.Thread(target=work.close, kwargs={"timeout": 0.05})
    closing.start()
    closing.join(GUARD)
    told: list[bool] = []
    reservation.submit(
        lambda: pytest.fail("ran after the stop"),
        on_error=unexpected,
        on_dropped=lambda: told.append(True),
    )
    assert told == [True]
    assert work.busy == 0


def test_a_stuck_piece_does_not_keep_the_process_from_exiting(tmp_path: Path) -> None:
    """Work threads are daemons: a piece stuck on a hanging console (here: a 10-minute
    sleep) is abandoned when the process exits after ``close``."""
    exits_after(
        "import threading, time\n"
        "from bot.process.workqueue import WorkQueue\n"
        "work = WorkQueue(threads=1, capacity=1)\n"
        "started = threading.Event()\n"
        "def stuck():\n"
        "    started.set()\n"
        "    time.sleep(600)\n"
        "work.reserve().submit(stuck, on_error=print)\n"
        "started.wait(10)\n"
        "work.close(timeout=0.05)\n"
        "print('closed')\n",
        tmp_path,
        printed="closed",
    )


def test_close_tells_the_users_of_work_still_running_and_of_work_never_started() -> None:
    """Before, only work that never started was told; running work's users heard nothing."""
    work = WorkQueue(threads=1, capacity=4)
    release = threading.Event()
    started = threading.Event()
    told: list[str] = []

    def hang() -> None:
        started.set()
        release.wait(10)

    for name, task in (("running", hang), ("queued", lambda: None)):
        reservation = work.reserve()
        assert reservation is not None
        reservation.submit(
            task,
            on_error=lambda _e: None,
            on_dropped=functools.partial(told.append, f"{name} dropped"),
            on_interrupted=functools.partial(told.append, f"{name} interrupted"),
        )
    assert started.wait(5)
    try:
        work.close(timeout=0.1)
    finally:
        release.set()

    assert sorted(told) == ["queued dropped", "running interrupted"]
