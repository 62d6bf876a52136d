"""bot.process.daemonpool: an executor whose threads never hold up the process's exit."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError
from pathlib import Path

import pytest

from bot.process.daemonpool import DaemonPool
from tests.support.process import exits_after

GUARD = 10.0  # seconds: only so that a broken pool fails instead of hanging


def test_results_and_errors_reach_the_futures() -> None:
    pool = DaemonPool(workers=2, name="test-pool")
    try:
        assert pool.submit(pow, 2, 10).result(GUARD) == 1024
        failed = pool.submit(int, "not a number")
        with pytest.raises(ValueError, match="invalid literal"):
            failed.result(GUARD)
    finally:
        pool.shutdown()


def test_no_more_threads_than_workers_run_at_once() -> None:
    pool = DaemonPool(workers=2, name="test-pool")
    gate = threading.Event()
    running: set[str] = set()
    lock = threading.Lock()

    def hold() -> str:
        with lock:
            running.add(threading.current_thread().name)
        assert gate.wait(GUARD)
        return threading.current_thread().name

    try:
        futures = [pool.submit(hold) for _ in range(6)]
        gate.set()
        names = {future.result(GUARD) for future in futures}
        assert names == running
        assert len(names) <= 2
        assert all(name.startswith("test-pool-") for name in names)
        assert all(thread.daemon for thread in threading.enumerate() if thread.name in names)
    finally:
        pool.shutdown()


def test_shutdown_cancels_what_has_not_started_and_refuses_new_work() -> None:
    pool = DaemonPool(workers=1, name="test-pool")
    gate, started = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        assert gate.wait(GUARD)

    running = pool.submit(hold)
    assert started.wait(GUARD)
    queued = pool.submit(hold)
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    with pytest.raises(CancelledError):
        queued.result(0)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(hold)
    gate.set()
    running.result(GUARD)  # what was running finishes
    pool.shutdown()  # twice is harmless


def test_work_still_running_does_not_keep_the_process_from_exiting(tmp_path: Path) -> None:
    exits_after(
        "import threading, time\n"
        "from bot.process.daemonpool import DaemonPool\n"
        "pool = DaemonPool(workers=1, name='stuck')\n"
        "started = threading.Event()\n"
        "pool.submit(lambda: (started.set(), time.sleep(600)))\n"
        "started.wait(10)\n"
        "pool.shutdown(wait=False, cancel_futures=True)\n"
        "print('closed')\n",
        tmp_path,
        printed="closed",
    )
