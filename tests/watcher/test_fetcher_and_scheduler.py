"""Units: the bounded console fetcher and the scheduler's job settings (no HTTP here)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger

from bot.console.errors import ConsoleUnavailable
from bot.domain.console_types import ProgressEntry
from bot.domain.images import ScanTarget
from bot.domain.watch import Watch, WatchState
from bot.process.frontdoor import FrontDoor
from bot.watcher.fetcher import ConsoleFetcher
from bot.watcher.lifecycle import Answer
from bot.watcher.scheduler import POLL_JOB_ID, PRUNE_JOB_ID, build_scheduler
from tests.support.fake_console import StubConsole

ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
NGINX = ScanTarget(repo="library/nginx", tag="1.25")


class GatedConsole(StubConsole):
    """A console whose answers for ``slow`` images wait until ``gate`` is set."""

    def __init__(self, slow: set[str], fail: set[str] | None = None) -> None:
        self.slow = slow
        self.fail = fail or set()
        self.gate = threading.Event()
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]:
        assert target is not None
        with self._lock:
            self.calls.append(target.key)
        if target.key in self.slow:
            self.gate.wait(5)
        if target.key in self.fail:
            raise ConsoleUnavailable("console down")
        return [ProgressEntry(is_scan_ongoing=True)]


def fetcher_for(console: GatedConsole) -> ConsoleFetcher:
    return ConsoleFetcher(console, workers=2)


def watch(watch_id: int, target: ScanTarget, channel: str = "C1") -> Watch:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return Watch(
        id=watch_id,
        target=target,
        channel_id=channel,
        requester_id="U1",
        state=WatchState.ACTIVE,
        created_at=at,
        updated_at=at,
    )


def test_a_slow_image_is_skipped_this_cycle_while_the_others_answer() -> None:
    console = GatedConsole(slow={ALPINE.key})
    fetcher = fetcher_for(console)
    try:
        answers, sent = fetcher.fetch([watch(1, ALPINE), watch(2, NGINX)], budget=0.2)
        assert sent == 2
        assert set(answers) == {2}
    finally:
        console.gate.set()
        fetcher.close()


def test_watches_of_one_image_share_one_request_and_its_answer() -> None:
    console = GatedConsole(slow=set())
    fetcher = fetcher_for(console)
    try:
        answers, sent = fetcher.fetch(
            [watch(1, ALPINE, "C1"), watch(2, ALPINE, "C2"), watch(3, NGINX)], budget=2
        )
        assert sent == 2
        assert answers[1] == answers[2]
        assert sorted(console.calls) == sorted([ALPINE.key, NGINX.key])
    finally:
        fetcher.close()


def test_an_image_still_in_flight_is_not_requested_again_next_cycle() -> None:
    console = GatedConsole(slow={ALPINE.key})
    fetcher = fetcher_for(console)
    try:
        fetcher.fetch([watch(1, ALPINE)], budget=0.05)
        answers, sent = fetcher.fetch([watch(1, ALPINE)], budget=0.05)
        assert (answers, sent) == ({}, 0)
        console.gate.set()
        answers, sent = fetcher.fetch([watch(1, ALPINE)], budget=2)
        assert sent == 0
        assert answers[1].entries == [ProgressEntry(is_scan_ongoing=True)]
        _, sent = fetcher.fetch([watch(1, ALPINE)], budget=2)
        assert sent == 1
        assert console.calls == [ALPINE.key, ALPINE.key]
    finally:
        console.gate.set()
        fetcher.close()


def test_a_late_answer_only_reaches_the_watches_open_when_it_was_asked() -> None:
    """An old request's answer (maybe the old scan's once-only "finished") must not
    reach a newer watch of the same image; that one gets a fresh request."""
    console = GatedConsole(slow={ALPINE.key})
    fetcher = fetcher_for(console)
    try:
        fetcher.fetch([watch(1, ALPINE)], budget=0.05)  # asked for watch 1, still in flight
        console.gate.set()
        answers, sent = fetcher.fetch([watch(2, ALPINE)], budget=2)  # watch 1 ended, 2 began
        assert (answers, sent) == ({}, 0)
        answers, sent = fetcher.fetch([watch(2, ALPINE)], budget=2)
        assert sent == 1
        assert set(answers) == {2}
    finally:
        console.gate.set()
        fetcher.close()


def test_a_request_for_an_image_nobody_follows_any_more_is_dropped() -> None:
    console = GatedConsole(slow={ALPINE.key})
    fetcher = fetcher_for(console)
    try:
        fetcher.fetch([watch(1, ALPINE)], budget=0.05)
        fetcher.fetch([], budget=0.05)  # the watch ended
        console.gate.set()
        answers, sent = fetcher.fetch([watch(2, ALPINE)], budget=2)
        assert sent == 1
        assert set(answers) == {2}
    finally:
        console.gate.set()
        fetcher.close()


def test_a_console_error_becomes_that_images_answer() -> None:
    console = GatedConsole(slow=set(), fail={ALPINE.key})
    fetcher = fetcher_for(console)
    try:
        answers, _ = fetcher.fetch([watch(1, ALPINE), watch(2, NGINX)], budget=2)
        assert isinstance(answers[1].error, ConsoleUnavailable)
        assert answers[2].entries is not None
    finally:
        fetcher.close()


def test_stop_waiting_ends_a_cycles_wait_at_once_and_sends_nothing_more() -> None:
    """On SIGTERM a cycle waiting for a hanging console goes on with what it has, and no
    later fetch asks the console anything."""
    console = GatedConsole(slow={ALPINE.key})
    fetcher = fetcher_for(console)
    try:
        waited: list[tuple[dict[int, Answer], int]] = []
        cycle = threading.Thread(
            target=lambda: waited.append(
                fetcher.fetch([watch(1, ALPINE), watch(2, NGINX)], budget=3600)
            )
        )
        cycle.start()
        deadline = time.monotonic() + 10
        while len(console.calls) < 2:  # both requests sent; ALPINE's hangs
            assert time.monotonic() < deadline, "the requests were not sent"
            time.sleep(0.01)
        fetcher.stop_waiting()
        cycle.join(10)
        assert not cycle.is_alive(), "the wait did not end"
        ((answers, sent),) = waited
        assert sent == 2
        assert set(answers) <= {2}  # NGINX's answer if it came; never the hanging one
        assert fetcher.fetch([watch(3, NGINX)], budget=3600) == ({}, 0)
        assert fetcher.start_regular() == 0
        assert sorted(console.calls) == sorted([ALPINE.key, NGINX.key])
    finally:
        console.gate.set()
        fetcher.close()


def test_the_poll_job_has_an_explicit_id_coalesces_and_never_overlaps() -> None:
    scheduler = build_scheduler(lambda: None, poll_seconds=15)
    scheduler.start(paused=True)
    try:
        (job,) = scheduler.get_jobs()
        assert job.id == POLL_JOB_ID
        assert job.coalesce is True
        assert job.max_instances == 1
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(seconds=15)
    finally:
        scheduler.shutdown(wait=False)


def test_the_first_cycle_runs_as_soon_as_the_scheduler_starts() -> None:
    ran = threading.Event()
    scheduler = build_scheduler(ran.set, poll_seconds=3600)
    scheduler.start()
    try:
        assert ran.wait(5)
    finally:
        scheduler.shutdown(wait=True)


def test_the_prune_job_runs_hourly_under_its_own_id() -> None:
    scheduler = build_scheduler(lambda: None, poll_seconds=15, prune=lambda: None)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {POLL_JOB_ID, PRUNE_JOB_ID}
        prune = jobs[PRUNE_JOB_ID]
        assert isinstance(prune.trigger, IntervalTrigger)
        assert prune.trigger.interval == timedelta(hours=1)
        assert prune.max_instances == 1
    finally:
        scheduler.shutdown(wait=False)


class CountingConsole(GatedConsole):
    """Records the most progress requests in flight at once; each request waits up to
    ``meet`` seconds for another one to be in flight beside it."""

    def __init__(self, *, meet: float) -> None:
        super().__init__(slow=set())
        self.meet = meet
        self.now = 0
        self.most = 0
        self.met = threading.Event()

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
            if self.now > 1:
                self.met.set()
        self.met.wait(self.meet)
        with self._lock:
            self.now -= 1
        return super().progress(target)


def test_while_slack_requests_are_answered_the_cycle_sends_one_console_request_at_a_time() -> None:
    door = FrontDoor(patience=60.0)  # no second piece beside a slow one within the test
    console = CountingConsole(meet=0.05)
    fetcher = ConsoleFetcher(console, workers=4, front_door=door)
    images = [ScanTarget(repo=f"team/app{n}", tag="1.0") for n in range(6)]
    try:
        with door.serving(), door.background():  # a request in flight; the cycle's piece
            answers, sent = fetcher.fetch(
                [watch(n, image) for n, image in enumerate(images)], budget=10
            )
        assert sent == 6
        assert len(answers) == 6  # all answered: the cycle stepped outside while waiting
        assert console.most == 1
        quiet_console = CountingConsole(meet=10.0)  # each waits until another is in flight
        quiet = ConsoleFetcher(quiet_console, workers=4, front_door=FrontDoor())
        try:
            quiet.fetch([watch(n, image) for n, image in enumerate(images)], budget=10)
            assert quiet_console.most > 1  # a quiet door: as many as the pool allows
        finally:
            quiet.close()
    finally:
        fetcher.close()


class PacedConsole(GatedConsole):
    """Answers after ``pace`` seconds; records the most requests in flight at once."""

    def __init__(self, *, pace: float, slow: set[str] | None = None) -> None:
        super().__init__(slow=slow or set())
        self.pace = pace
        self.now = 0
        self.most = 0

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(self.pace)
            return super().progress(target)
        finally:
            with self._lock:
                self.now -= 1


def images(count: int, prefix: str = "app") -> list[Watch]:
    return [watch(n, ScanTarget(repo=f"team/{prefix}{n}", tag="1.0")) for n in range(count)]


def test_a_console_that_answers_quickly_is_asked_on_one_lane() -> None:
    """Until the console's pace is known every lane runs; a console answering in a few
    milliseconds then gets its requests one after another on a single lane."""
    console = PacedConsole(pace=0.002)
    fetcher = ConsoleFetcher(console, workers=4)
    try:
        answers, _sent = fetcher.fetch(images(20), budget=2)
        assert len(answers) == 20
        assert console.most > 1  # nothing timed yet: every lane
        console.most = 0
        answers, sent = fetcher.fetch(images(20), budget=2)
        assert (len(answers), sent) == (20, 20)
        assert console.most == 1
    finally:
        fetcher.close()


def test_a_console_that_answers_slowly_gets_as_many_lanes_as_its_pace_needs() -> None:
    """40 images at 50 ms each would take 2 s on one lane, 4x the half-budget aimed at:
    all four lanes run."""
    console = PacedConsole(pace=0.05)
    fetcher = ConsoleFetcher(console, workers=4)
    try:
        fetcher.fetch(images(40), budget=1)
        console.most = 0
        answers, _sent = fetcher.fetch(images(40), budget=1)
        assert len(answers) == 40  # 0.5 s on four lanes
        assert console.most == 4
    finally:
        fetcher.close()


def test_a_request_stuck_on_the_only_lane_gets_another_lane_beside_it() -> None:
    """One image's request hangs: the images queued behind it are still answered within
    the cycle, on a lane opened beside the stuck one."""
    console = PacedConsole(pace=0.001)
    fetcher = ConsoleFetcher(console, workers=4)
    try:
        fetcher.fetch(images(5, "warm"), budget=2)  # the pace is now known: fast
        stuck, *behind = images(6)
        console.slow = {stuck.target.key}
        answers, sent = fetcher.fetch([stuck, *behind], budget=2)
        assert sent == 6
        assert set(answers) == {w.id for w in behind}
        assert fetcher.lanes >= 1  # the stuck one is still on its lane
    finally:
        console.gate.set()
        fetcher.close()


def test_the_same_entries_again_are_the_same_answer() -> None:
    """A client that keeps the entries of an unchanged answer (bot.console.memo) gives the
    same objects; the cycle then reuses the answer computed from them."""
    kept = [ProgressEntry(is_scan_ongoing=True)]

    class KeepingConsole(StubConsole):
        def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]:
            return list(kept)

    fetcher = ConsoleFetcher(KeepingConsole(), workers=1)
    try:
        first, _ = fetcher.fetch([watch(1, ALPINE)], budget=2)
        again, _ = fetcher.fetch([watch(1, ALPINE)], budget=2)
        assert again[1] is first[1]
        kept[0] = ProgressEntry(is_scan_ongoing=False)
        moved, _ = fetcher.fetch([watch(1, ALPINE)], budget=2)
        assert moved[1] is not first[1]
        assert moved[1].entries == kept
    finally:
        fetcher.close()
