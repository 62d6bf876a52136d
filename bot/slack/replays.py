"""Replay protection shared through the database: a signed Slack request accepted by one
replica (or by this process before a restart) is ignored by every other within Slack's
signing window.

The process's own :class:`~bot.slack.guard.ReplayCache` answers first (no database round
trip for a replay to the same replica) and stands in alone while the database does not
answer: requests are never refused because the database is down.

How the database takes part depends on who else can answer Slack's requests:

* **PostgreSQL** (replicas share it): each accepted signature is recorded before the
  request is dispatched, so a replay to any replica is ignored.
* **SQLite** (one process serves it): the process's memory is every replica there is, so
  it decides alone and at once; the signatures are written behind, in batches, on a
  thread of their own that gives way while Slack requests are answered (at most
  :data:`WRITE_WITHIN` after each arrived), and read back into memory at start.  A
  restart therefore ignores replays too.  A write in the ack path would cost every ack a
  turn on the database's one writer: under a burst of commands the requests queue on it
  and the acks take several times a bare bolt app's.  What a crash loses is the
  signatures of the second before it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.slack.guard import DEFAULT_REPLAY_ENTRIES, SIGNING_WINDOW_SECONDS, ReplayCache

log = logging.getLogger(__name__)

#: How long :meth:`SharedReplays.close` waits for the signatures still to be written.
CLOSE_SECONDS = 5.0
#: A signature is written at most this long after it arrived, requests answered or not.
WRITE_WITHIN = 1.0
#: While requests are answered, how often the writer looks whether they are done.
GIVE_WAY_LOOK = 0.05
#: While the database refuses them, signatures owed are tried again at most this far apart.
RETRY_MAX_SECONDS = 30.0
#: Signatures owed to the database kept while it refuses them (the newest).
OWED_AT_MOST = DEFAULT_REPLAY_ENTRIES


class SeenRequests(Protocol):
    """The store's half (:class:`bot.store.replays.ReplayStore`)."""

    def first_sighting(self, signature: str, *, until: datetime, now: datetime) -> bool: ...

    def first_sightings(
        self, sightings: Sequence[tuple[str, datetime]], *, now: datetime
    ) -> list[bool]: ...

    def seen_signatures(self, *, now: datetime) -> list[tuple[str, datetime]]: ...


class SharedReplays:
    """:class:`~bot.slack.guard.Replays` through the database, this process's memory first.

    ``write_behind`` (a database only this process uses): memory decides, the database
    keeps a copy for the next start (see the module's docstring).  While ``busy()``
    (Slack requests are being answered: the front door), a batch waits, at most
    :data:`WRITE_WITHIN` seconds after its first signature.
    """

    def __init__(
        self,
        store: SeenRequests,
        *,
        clock: Callable[[], float] = time.time,
        local: ReplayCache | None = None,
        write_behind: bool = False,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self._store = store
        self._clock = clock
        self._local = local if local is not None else ReplayCache()
        self._failing = threading.Event()
        self._behind = _WriteBehind(self._write, busy) if write_behind else None
        if write_behind:
            self._load()

    def seen_before(self, signature: str, *, timestamp: int | None = None) -> bool:
        if self._local.seen_before(signature):
            return True
        now = self._clock()
        # Valid while the request's timestamp is within the window of now: keep it so long.
        until = datetime.fromtimestamp(
            (timestamp if timestamp is not None else now) + SIGNING_WINDOW_SECONDS + 1, UTC
        )
        if self._behind is not None:
            self._behind.add(signature, until)
            return False
        with self._database():
            return not self._store.first_sighting(
                signature, until=until, now=datetime.fromtimestamp(now, UTC)
            )
        return False  # the database did not answer: this process's memory decided

    def flush(self, timeout: float = CLOSE_SECONDS) -> bool:
        """Wait until the signatures accepted so far are written; False if ``timeout``
        passed first.  (Always True when nothing is written behind.)"""
        return self._behind is None or self._behind.flush(timeout)

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Write what is still owed (for at most ``timeout``) and stop the writer."""
        if self._behind is not None:
            self._behind.close(timeout)

    def _write(self, sightings: Sequence[tuple[str, datetime]]) -> bool:
        with self._database():
            self._store.first_sightings(sightings, now=datetime.fromtimestamp(self._clock(), UTC))
            return True
        return False

    def _load(self) -> None:
        """Signatures still in their window, from the database into memory."""
        now = self._clock()
        with self._database():
            for signature, until in self._store.seen_signatures(
                now=datetime.fromtimestamp(now, UTC)
            ):
                self._local.remember(signature, seconds=until.timestamp() - now)

    @contextmanager
    def _database(self) -> Iterator[None]:
        """Database errors fall back to this process's memory, said once."""
        try:
            yield
        except SQLAlchemyError as exc:
            if not self._failing.is_set():
                self._failing.set()
                log.warning(
                    "replay protection falls back to this process's memory: the database "
                    "did not answer (%s)",
                    type(exc).__name__,
                )
            return
        if self._failing.is_set():
            self._failing.clear()
            log.warning("replay protection is shared through the database again")


class _WriteBehind:
    """Signatures owed to the database, written in batches by a thread of their own
    (started at the first signature, so building the app starts nothing).  A batch waits
    while requests are being answered, at most :data:`WRITE_WITHIN` seconds.  A batch the
    database refused is tried again, after 1, 2, 4 ... at most :data:`RETRY_MAX_SECONDS`
    seconds, with what arrived meanwhile (at most :data:`OWED_AT_MOST` kept)."""

    def __init__(
        self,
        write: Callable[[Sequence[tuple[str, datetime]]], bool],
        busy: Callable[[], bool],
    ) -> None:
        self._write = write
        self._busy = busy
        self._changed = threading.Condition()
        self._pending: list[tuple[str, datetime]] = []
        self._owed_since = 0.0  # monotonic: when the oldest signature pending arrived
        self._writing = 0  # signatures taken by the writer and not yet written
        self._hurry = 0  # callers of flush() waiting: write without giving way
        self._closing = False
        self._thread: threading.Thread | None = None

    def add(self, signature: str, until: datetime) -> None:
        with self._changed:
            if not self._pending:
                self._owed_since = time.monotonic()
            self._pending.append((signature, until))
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(
                    target=self._run, name="scanbot-replays", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            self._hurry += 1
            self._changed.notify_all()
            try:
                while self._pending or self._writing:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._thread is None:
                        return False
                    self._changed.wait(left)
            finally:
                self._hurry -= 1
        return True

    def close(self, timeout: float) -> None:
        self.flush(timeout)
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=1.0)

    def _run(self) -> None:
        backoff = 0.0
        while True:
            with self._changed:
                if backoff and not self._closing:
                    self._changed.wait(backoff)  # the database refused the last batch
                while not self._pending and not self._closing:
                    self._changed.wait()
                if not self._pending:
                    return
                # Acks first: while requests are answered, the batch waits (and grows).
                while not (self._closing or self._hurry) and self._busy():
                    left = self._owed_since + WRITE_WITHIN - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(min(left, GIVE_WAY_LOOK))
                batch, self._pending = self._pending, []
                self._writing = len(batch)
            written = False
            try:
                written = self._write(batch)
            except BaseException:
                with self._changed:  # the next signature starts another writer
                    self._thread = None
                raise
            finally:
                with self._changed:
                    room = OWED_AT_MOST - len(self._pending)
                    if not written and not self._closing and room > 0:
                        self._pending[:0] = batch[max(0, len(batch) - room) :]
                        self._owed_since = time.monotonic()
                    self._writing = 0
                    self._changed.notify_all()
            backoff = 0.0 if written else min(RETRY_MAX_SECONDS, max(1.0, 2 * backoff))
