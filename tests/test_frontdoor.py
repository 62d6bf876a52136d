"""bot.process.frontdoor: background work gives way to the Slack requests being answered.

Time is a hand-driven clock wherever the rule depends on it (``linger``, ``patience``);
threads are held on ``threading.Event`` gates, and the only real waits are guards that
make a broken gate fail instead of hang.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bot.process.frontdoor import FrontDoor
from bot.process.workqueue import WorkQueue
from tests.support.harness import running_bot

GUARD = 10.0  # seconds: only so that a broken gate fails instead of hanging
SHORT = 0.3  # seconds a thread is given to start a piece that must not start


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def request_in_flight(door: FrontDoor) -> Iterator[None]:
    """A Slack request being answered for the duration of the block."""
    with door.serving():
        yield


def start_piece(
    door: FrontDoor, release: threading.Event
) -> tuple[threading.Thread, threading.Event]:
    """A background piece on its own thread that runs until ``release``; returns the
    thread and an event set once the piece is running."""
    running = threading.Event()

    def piece() -> None:
        with door.background():
            running.set()
            assert release.wait(GUARD)

    thread = threading.Thread(target=piece, daemon=True)
    thread.start()
    return thread, running


def test_a_quiet_door_lets_background_pieces_run_side_by_side() -> None:
    door = FrontDoor()
    release = threading.Event()
    first, first_running = start_piece(door, release)
    second, second_running = start_piece(door, release)
    assert first_running.wait(GUARD)
    assert second_running.wait(GUARD)
    assert door.running == 2
    release.set()
    first.join(GUARD)
    second.join(GUARD)
    assert door.running == 0


def test_while_a_request_is_in_flight_a_second_piece_waits_for_the_first() -> None:
    clock = Clock()
    door = FrontDoor(clock=clock)
    release_first, release_second = threading.Event(), threading.Event()
    with request_in_flight(door):
        first, first_running = start_piece(door, release_first)
        assert first_running.wait(GUARD)  # none ran: the first starts at once
        second, second_running = start_piece(door, release_second)
        assert not second_running.wait(SHORT)  # busy door, one piece runs: it waits
        release_first.set()  # the first ends: the second starts, the door still busy
        assert second_running.wait(GUARD)
        assert door.in_flight == 1
    release_second.set()
    first.join(GUARD)
    second.join(GUARD)


def test_background_work_is_never_starved_by_a_request_that_never_ends() -> None:
    door = FrontDoor()
    done: list[int] = []
    with request_in_flight(door):
        threads = []
        for n in range(5):

            def piece(n: int = n) -> None:
                with door.background():
                    done.append(n)

            thread = threading.Thread(target=piece)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join(GUARD)
    assert sorted(done) == [0, 1, 2, 3, 4]


def test_a_piece_waiting_on_io_for_longer_than_patience_lets_another_start() -> None:
    clock = Clock()
    door = FrontDoor(clock=clock, patience=0.5)
    release = threading.Event()
    with request_in_flight(door):
        first, first_running = start_piece(door, release)
        assert first_running.wait(GUARD)
        second, second_running = start_piece(door, release)
        assert not second_running.wait(SHORT)
        clock.now += 0.5  # the first piece started 0.5 s ago: it is waiting, not computing
        assert second_running.wait(GUARD)
        assert door.running == 2
    release.set()
    first.join(GUARD)
    second.join(GUARD)


def test_the_door_stays_busy_for_linger_seconds_after_the_last_answer() -> None:
    clock = Clock()
    door = FrontDoor(clock=clock, linger=0.2)
    assert not door.busy()  # nothing answered yet
    with request_in_flight(door):
        assert door.busy()
    assert door.busy()  # the next request of a burst is milliseconds away
    clock.now += 0.19
    assert door.busy()
    clock.now += 0.02
    assert not door.busy()


def test_a_piece_started_inside_a_piece_on_the_same_thread_runs_at_once() -> None:
    door = FrontDoor()
    ran: list[str] = []
    with request_in_flight(door), door.background():
        with door.background():  # e.g. the sender delivering inside a follow's work
            ran.append("inner")
        assert door.running == 1
    assert ran == ["inner"]
    assert door.running == 0


def test_wrap_counts_a_request_until_its_answer_is_returned() -> None:
    door = FrontDoor()
    seen: list[int] = []

    def app(environ: object, start_response: Callable[..., object]) -> list[bytes]:
        seen.append(door.in_flight)
        start_response("200 OK", [])
        return [b"ok"]

    body = door.wrap(app)({}, lambda *args: None)  # type: ignore[arg-type]
    assert list(body) == [b"ok"]
    assert seen == [1]
    assert door.in_flight == 0


def test_the_work_queue_runs_one_piece_at_a_time_while_the_door_is_busy() -> None:
    door = FrontDoor(patience=60.0)  # no second piece beside a slow one, even on a loaded machine
    queue = WorkQueue(threads=4, capacity=8, front_door=door)
    lock = threading.Lock()
    running = 0
    most = 0

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threading.Event().wait(0.02)
        with lock:
            running -= 1

    def unexpected(error: Exception) -> None:
        raise AssertionError(error)

    try:
        with request_in_flight(door):
            for _ in range(6):
                reservation = queue.reserve()
                assert reservation is not None
                reservation.submit(work, on_error=unexpected)
            assert queue.wait_idle(GUARD)
        assert most == 1
    finally:
        queue.close(GUARD)


def test_slack_requests_through_the_http_server_make_the_door_busy_and_health_checks_do_not(
    tmp_path: Path,
) -> None:
    with running_bot(tmp_path) as bot:
        door = bot.runtime.front_door
        door.linger = 60.0  # long enough to observe after the answer
        assert httpx.get(f"{bot.url}/healthz", timeout=10).status_code in (200, 503)
        assert not door.busy()
        assert bot.command("help").status_code == 200
        assert door.busy()
        assert door.in_flight == 0


def test_a_piece_waiting_outside_lets_the_pieces_it_waits_for_run() -> None:
    door = FrontDoor()
    release = threading.Event()
    with request_in_flight(door), door.background():  # the poll cycle, a piece
        with door.outside():  # ... waiting for its console requests
            assert door.running == 0
            helper, helper_running = start_piece(door, release)  # a console request
            assert helper_running.wait(GUARD)
            release.set()
            helper.join(GUARD)
        assert door.running == 1  # back in its piece
    assert door.running == 0
