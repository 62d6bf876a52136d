"""The poll cycle's console requests: at most one in flight per image, on as few lanes as
the console's pace needs.

A *lane* is a pool thread that takes the queued requests one after another.  How many
lanes run follows the console: a console that answers in a millisecond gets one lane (four
threads taking turns on the interpreter lock for loopback-fast answers cost half as much
CPU again as one thread sending them in a row); a console that needs 50 ms an answer gets
as many lanes as it takes to finish the queue within half the cycle's budget, up to
``SCANBOT_CONSOLE_CONCURRENCY``.  Until a first answer has been timed every lane runs, and
a request that takes far longer than the console's usual pace no longer counts as a lane
(another one opens), so one image whose request hangs never holds up the others.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from bot.console.errors import ConsoleError
from bot.domain.console_types import ProgressEntry
from bot.domain.images import ScanTarget
from bot.domain.ports import Console
from bot.domain.watch import Watch
from bot.process.daemonpool import DaemonPool
from bot.process.frontdoor import FrontDoor
from bot.watcher.lifecycle import Answer

#: Lanes are opened so that the queue would be done within this share of the cycle's budget.
AIM_SHARE = 0.5
#: A request running this many times the usual time an answer takes (and at least
#: :data:`STUCK_FLOOR` seconds) no longer counts as a lane: another one opens beside it.
STUCK_FACTOR = 5.0
STUCK_FLOOR = 0.2
#: Weight of the newest answer's time in the moving average of the console's pace.
PACE_WEIGHT = 0.2
#: How often a cycle waiting for answers looks for requests stuck on their lanes.
_LOOK_EVERY = 0.1


#: One image of the watches asked about: its target, and the ids of its watches.
_Image = tuple[ScanTarget, frozenset[int]]


@dataclass(slots=True)
class _InFlight:
    future: Future[list[ProgressEntry]]
    for_watches: frozenset[int]  # the watches open when the request was sent


class ConsoleFetcher:
    """Runs console progress requests on up to ``workers`` lanes, one request per image.

    An answer is only ever applied to the watches that were open when its request was
    sent: a late answer about an earlier scan never reaches a newer watch of that image.
    """

    def __init__(
        self, console: Console, *, workers: int, front_door: FrontDoor | None = None
    ) -> None:
        self._console = console
        self._door = front_door if front_door is not None else FrontDoor()
        self._workers = workers
        # daemon threads: a request hanging on the console never holds up the process's exit
        # (one more than the lanes: the regular scan's request never waits for a lane)
        self._pool = DaemonPool(workers=workers + 1, name="scanbot-console")
        self._inflight: dict[str, _InFlight] = {}
        self._queue: deque[tuple[ScanTarget, Future[list[ProgressEntry]]]] = deque()
        self._lanes: dict[int, float | None] = {}  # lane -> when its request started
        self._next_lane = 0
        self._pace: float | None = None  # seconds an answer takes, moving average
        self._aim = 1.0  # seconds the queue should take, from the cycle's budget
        self._regular: Future[list[ProgressEntry]] | None = None
        #: Per image, the last answer and its entries: the same entries again (a console
        #: client that keeps them, bot.console.memo) are the same answer, not computed anew.
        self._answers: dict[str, tuple[tuple[ProgressEntry, ...], Answer]] = {}
        self._grouped: tuple[Sequence[Watch], dict[str, _Image]] | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self._waits: set[threading.Event] = set()  # the cycle's waits, ended by stop_waiting

    @property
    def lanes(self) -> int:
        """Lanes running now (for tests and the bench)."""
        with self._lock:
            return len(self._lanes)

    def start_regular(self) -> int:
        """Ask about the regular scan unless that request is still in flight; 1 if sent."""
        with self._lock:
            if self._regular is not None or self._stopping:
                return 0
            self._regular = self._pool.submit(self._progress, None)
            return 1

    def regular_answer(self, *, budget: float) -> Answer | None:
        """The regular scan's answer if it arrived within ``budget`` seconds."""
        with self._lock:
            future = self._regular
        if future is None:
            return None
        self._wait([future], timeout=budget)
        if not future.done():
            return None
        with self._lock:
            self._regular = None
        return _answer(future)

    def fetch(self, watches: Sequence[Watch], *, budget: float) -> tuple[dict[int, Answer], int]:
        """Answers per watch id that arrived within ``budget`` seconds, and requests sent."""
        by_key = self.images(watches)
        sent = 0
        with self._lock:
            # Requests for images nobody follows any more: their answers are of no use.
            for key in [key for key in self._inflight if key not in by_key]:
                self._inflight.pop(key).future.cancel()  # not sent yet: never sent
            for key in [key for key in self._answers if key not in by_key]:
                del self._answers[key]
            self._aim = max(0.05, AIM_SHARE * budget)
            pending: dict[str, _InFlight] = {}
            for key, (target, ids) in by_key.items():
                request = self._inflight.get(key)
                if request is None and self._stopping:
                    continue  # the bot is stopping: no new console request
                if request is None:
                    future: Future[list[ProgressEntry]] = Future()
                    self._queue.append((target, future))
                    request = _InFlight(future, ids)
                    self._inflight[key] = request
                    sent += 1
                pending[key] = request
            self._open_lanes()
        self._wait([request.future for request in pending.values()], timeout=budget)
        answers: dict[int, Answer] = {}
        with self._lock:
            for key, request in pending.items():
                if not request.future.done() or request.future.cancelled():
                    continue
                if self._inflight.get(key) is request:
                    del self._inflight[key]
                answer = self._answer(key, request.future)
                ids = by_key[key][1]
                if request.for_watches is not ids:  # sent in an earlier cycle
                    ids &= request.for_watches
                answers.update(dict.fromkeys(ids, answer))
        return answers, sent

    def images(self, watches: Sequence[Watch]) -> dict[str, _Image]:
        """``watches`` by image key, in order; grouped once for a tuple given again (the
        poll cycle's kept list while nothing changed)."""
        grouped = self._grouped
        if grouped is not None and grouped[0] is watches:
            return grouped[1]
        by_key = _by_image(watches)
        if isinstance(watches, tuple):
            self._grouped = (watches, by_key)
        return by_key

    def _answer(self, key: str, future: Future[list[ProgressEntry]]) -> Answer:
        """The answer of a done request (the lock is held): the last one of ``key`` when
        its entries are the same objects."""
        if future.exception() is not None:
            self._answers.pop(key, None)
            return _answer(future)
        entries = tuple(future.result())
        last = self._answers.get(key)
        if (
            last is not None
            and len(last[0]) == len(entries)
            and all(a is b for a, b in zip(last[0], entries, strict=True))
        ):
            return last[1]
        answer = _answer(future)
        self._answers[key] = (entries, answer)
        return answer

    def _open_lanes(self) -> None:
        """Open the lanes the queue needs now (the lock is held)."""
        if not self._queue or self._stopping:
            return
        now = time.monotonic()
        if self._pace is None:
            wanted = self._workers  # nothing timed yet: every lane
            moving = len(self._lanes)
        else:
            wanted = math.ceil(len(self._queue) * self._pace / self._aim)
            stuck_after = max(STUCK_FLOOR, STUCK_FACTOR * self._pace)
            moving = sum(1 for s in self._lanes.values() if s is None or now - s < stuck_after)
        wanted = max(1, min(wanted, len(self._queue)))
        while moving < wanted and len(self._lanes) < self._workers:
            lane = self._next_lane
            self._next_lane += 1
            self._lanes[lane] = None
            self._pool.submit(self._lane, lane)
            moving += 1

    def _lane(self, lane: int) -> None:
        """Send queued requests one after another until the queue is empty."""
        try:
            while True:
                with self._lock:
                    if not self._queue or self._stopping:
                        return
                    target, future = self._queue.popleft()
                    if not future.set_running_or_notify_cancel():
                        continue  # nobody follows that image any more
                    self._lanes[lane] = time.monotonic()
                try:
                    result = self._progress(target)
                except BaseException as exc:  # noqa: BLE001 - handed to the cycle (_answer)
                    future.set_exception(exc)
                else:
                    future.set_result(result)
        finally:
            with self._lock:
                del self._lanes[lane]

    def _wait(self, futures: Iterable[Future[list[ProgressEntry]]], *, timeout: float) -> None:
        """Until every future is done, ``timeout`` passes or :meth:`stop_waiting` is called;
        outside this thread's background piece (the requests are pieces of their own).
        Meanwhile a lane stuck on one request gets another lane beside it."""
        waiting = set(futures)
        ended = threading.Event()
        count_lock = threading.Lock()
        left = [len(waiting)]

        def one_done(_: Future[list[ProgressEntry]]) -> None:
            with count_lock:
                left[0] -= 1
                if left[0] == 0:
                    ended.set()

        with self._lock:
            if self._stopping or not waiting:
                return
            self._waits.add(ended)
        try:
            for future in waiting:
                future.add_done_callback(one_done)  # at once for a future already done
            deadline = time.monotonic() + timeout
            with self._door.outside():
                while not ended.wait(max(0.0, min(_LOOK_EVERY, deadline - time.monotonic()))):
                    if time.monotonic() >= deadline:
                        break
                    with self._lock:
                        self._open_lanes()
        finally:
            with self._lock:
                self._waits.discard(ended)

    def stop_waiting(self) -> None:
        """The bot is stopping: a cycle waiting for the console goes on at once with the
        answers it has, and no new console request is sent."""
        with self._lock:
            self._stopping = True
            for ended in self._waits:
                ended.set()

    def _progress(self, target: ScanTarget | None) -> list[ProgressEntry]:
        """One console request, as a background piece: acks first (bot.process.frontdoor).
        Its time (inside the piece: not the wait for a turn) sets the console's pace."""
        with self._door.background():
            started = time.monotonic()
            try:
                return self._console.progress(target)
            finally:
                took = time.monotonic() - started
                with self._lock:
                    pace = self._pace
                    self._pace = took if pace is None else pace + PACE_WEIGHT * (took - pace)

    def close(self) -> None:
        """Stop: requests not sent are cancelled, those in flight abandoned."""
        self.stop_waiting()
        with self._lock:
            for _target, future in self._queue:
                future.cancel()
            self._queue.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _by_image(watches: Sequence[Watch]) -> dict[str, _Image]:
    targets: dict[str, ScanTarget] = {}
    ids: dict[str, list[int]] = {}
    for watch in watches:
        key = watch.target.key
        group = ids.get(key)
        if group is None:
            targets[key], ids[key] = watch.target, [watch.id]
        else:
            group.append(watch.id)
    return {key: (targets[key], frozenset(group)) for key, group in ids.items()}


def _answer(future: Future[list[ProgressEntry]]) -> Answer:
    error = future.exception()
    if error is None:
        return Answer.of(future.result())
    if isinstance(error, ConsoleError):
        return Answer(error=error)
    raise error
