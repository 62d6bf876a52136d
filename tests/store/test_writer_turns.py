"""The writers of one process to a SQLite file take turns on a lock of the process, not on
SQLite's busy handler (which sleeps 1, 2, 5 ... 100 ms between tries)."""

from __future__ import annotations

import threading
from pathlib import Path

from bot.domain.ports import utc_now
from bot.store import Store
from bot.store.db import WriterTurns


def test_a_write_inside_a_write_of_the_same_thread_takes_its_turn_at_once() -> None:
    turns = WriterTurns(timeout=0.5)
    with turns, turns:
        pass
    with turns:  # released: free again
        pass


def test_writers_of_other_threads_wait_for_the_turn_to_be_given_back() -> None:
    turns = WriterTurns(timeout=5)
    order: list[str] = []
    inside = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with turns:
            inside.set()
            release.wait(5)
            order.append("holder")

    def waiter() -> None:
        with turns:
            order.append("waiter")

    first = threading.Thread(target=holder)
    first.start()
    inside.wait(5)
    second = threading.Thread(target=waiter)
    second.start()
    second.join(0.2)
    assert second.is_alive()  # still waiting for its turn
    release.set()
    first.join(5)
    second.join(5)
    assert order == ["holder", "waiter"]


def test_a_writer_that_waited_the_whole_timeout_goes_on_without_its_turn() -> None:
    """It then meets SQLite's own lock and error, as before: no writer waits forever."""
    turns = WriterTurns(timeout=0.05)
    held = threading.Event()
    done = threading.Event()

    def holder() -> None:
        with turns:
            held.set()
            done.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    with turns:  # does not block past the timeout
        pass
    done.set()
    thread.join(5)


def test_many_threads_writing_to_one_sqlite_file_all_succeed(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'turns.db'}")
    store.migrate()
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(25):
                store.set_value(f"turns-{n}-{i}", str(i), now=utc_now())
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert failures == []
        assert store.get_value("turns-7-24") == "24"
    finally:
        store.close()
