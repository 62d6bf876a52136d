"""The one sender: delivers what the outbox owes, thread by thread, in order, once.

Guarantee (see docs/reliability.md): every message owed is delivered, and delivered once
as Slack users see it, whatever fails in between — Slack timing out after accepting a
message, a 5xx, a reset, the process killed mid-send.

* An attempt is recorded *before* the send.  A message with an earlier attempt may already
  be in Slack, so before sending it again the sender looks for it by the outbox key it
  carries in its metadata (``conversations.replies`` / ``conversations.history``).
* A thread's messages go in the order they were owed; a failure stops that thread (not
  the others) until its backoff passes.  Only the latest pending edit of a parent is sent.
* Completions first: posts (parents and replies) go before parent edits, and threads with
  a final message (a completion) before the others; a thread's replies never wait for its
  parent's edit.
* Slack's rate limits are kept by the sender itself (:mod:`bot.delivery.budget`): a post
  goes only with a token of its channel's bucket (about one a second), an edit only with
  one of ``chat.update``'s (Tier 3, the whole workspace).  Under that budget the parents
  are refreshed stalest first (an unsent edit keeps its place in the outbox while newer
  states replace its body), so each parent is edited at least every ``N / budget``.  A
  ``Retry-After`` from Slack (the safety net) pauses that method only.
* A thread is delivered by one process at a time (a lease per thread), so replicas can
  all run a sender.
* A channel that is gone closes the thread (its watch fails); content Slack refuses is sent
  as plain text after :data:`PLAIN_AFTER` attempts; a refused token stops all delivery
  until a probe succeeds — said once in the log and in health, not once per message.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.delivery import coalesce, dispatch
from bot.delivery.budget import POST, SlackBudget, Unlimited
from bot.delivery.gate import UPDATE, Gate
from bot.domain.events import (
    Completed,
    ContentRejected,
    DeliveryFailed,
    Destination,
    DestinationGone,
    Failed,
    MessageGone,
    NotAuthorized,
)
from bot.domain.owed import FINAL_PRIORITY, Kind
from bot.domain.ports import Notifier, ThreadState
from bot.process.frontdoor import FrontDoor
from bot.process.logcontext import log_context
from bot.store import Store, codec
from bot.store.codec import CodecError
from bot.store.outbox import OutboxEntry, Thread

log = logging.getLogger(__name__)

#: After this many refused attempts, a message is sent as plain text (no blocks).
PLAIN_AFTER = 3
#: After this many attempts even the plain text is given up (logged as an error).
GIVE_UP_AFTER = 6
#: Backoff between attempts of one message: 1, 2, 4 … seconds, at most this, with jitter.
MAX_BACKOFF_SECONDS = 300.0
#: How long a process may hold a thread while delivering it.
THREAD_LEASE = timedelta(seconds=60)
#: While Slack refuses our token, how often one message is tried to see if it came back.
AUTH_PROBE_SECONDS = 60.0
_POSTS = (Kind.PARENT, Kind.REPLY)
#: Posts of a channel's budget that other posts leave for a thread's end (a completion,
#: a failure): at Slack's pace of about one post a second, a completion never waits
#: behind the progress replies of other threads.
FINAL_RESERVE = 1.0


@dataclass
class SenderStatus:
    """What health and metrics read: the last failure and whether delivery is stopped."""

    failed_attempts: int = 0
    not_authorized: str | None = None  # the Slack error code while our token is refused
    last_error: str | None = None
    paused_until: float = 0.0  # monotonic; a refused token pauses every send
    rate_limited: int = 0  # 429s Slack answered after the transport's own retry
    storage_error: str | None = None
    failing_since: float | None = None  # monotonic; Slack calls failing since then


@dataclass
class Sender:
    """Delivers the outbox through a :class:`~bot.watcher.services.Notifier` (thread-safe)."""

    store: Store
    notifier: Notifier
    owner: str
    clock: Callable[[], datetime]
    channel_interval: float = 1.0  # seconds between two posts in one channel (no budget)
    monotonic: Callable[[], float] = time.monotonic
    budget: SlackBudget = field(default_factory=lambda: SlackBudget(Unlimited()))
    on_completion_delivered: Callable[[float], None] | None = None
    front_door: FrontDoor = field(default_factory=FrontDoor)  # acks first
    status: SenderStatus = field(default_factory=SenderStatus)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _failed_before: int = 0
    _delivering: set[str] = field(default_factory=set)  # threads a thread of ours delivers
    _delivering_lock: threading.Lock = field(default_factory=threading.Lock)
    gate: Gate = field(init=False)

    def __post_init__(self) -> None:
        self.gate = Gate(self.budget, self.monotonic, self.channel_interval)

    # --- the background loop ------------------------------------------------------------

    def start(self) -> None:
        """Deliver in a background thread until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="scanbot-sender", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def kick(self) -> None:
        """Messages were owed: deliver them soon."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                busy = self.deliver_due()
            except Exception as exc:  # noqa: BLE001 - the storage failing must not kill the loop
                self._storage_failed(exc)
                busy = False
            self._wake.wait(0.05 if busy else self.gate.next_free(1.0))

    def _storage_failed(self, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if self.status.storage_error is None:
            log.error("delivery paused: the database cannot be read or written (%s)", reason)
        self.status.storage_error = reason

    # --- delivering -----------------------------------------------------------------------

    def deliver_due(self) -> bool:
        """One pass over the threads with messages due; True if anything was delivered.

        Posts first (completions before the others), then parent edits, stalest first,
        as far as ``chat.update``'s budget goes."""
        if self._paused():
            return False
        progressed = False
        for kinds in (_POSTS, (Kind.EDIT,)):
            edits = kinds == (Kind.EDIT,)
            if edits and self.gate.held(UPDATE) > 0:
                continue  # no edit fits the budget now: do not even look
            # Posts: channels whose budget is spent are not even read (nor claimed).
            held = () if edits else self.gate.held_channels()
            kept = () if edits else self.gate.reserved_channels()
            due = self.store.due_threads(
                now=self.clock(), kinds=kinds, exclude_channels=held, ends_only_in=kept
            )
            for thread in due:
                if self._stop.is_set() or self._paused():
                    break
                if edits and self.gate.held(UPDATE) > 0:
                    break
                if not edits and not self._may_try(thread.channel_id, urgent=thread.urgent):
                    continue  # known before claiming it: nothing of it fits the budget now
                with self.front_door.background():
                    _state, sent = self._deliver_claimed(thread.key)
                progressed = progressed or sent
        if self.status.storage_error is not None:
            log.info("delivery resumed: the database answers again")
            self.status.storage_error = None
        return progressed

    def _may_try(self, channel: str, *, urgent: bool) -> bool:
        """Whether a thread's posts in ``channel`` may fit now: not while the channel's
        posts are held back, nor (for a thread with only progress due) while they are kept
        for the ends of threads."""
        if self.gate.held(POST, channel) > 0:
            return False
        return urgent or not self.gate.reserved(channel)

    def deliver_now(self, thread_key: str) -> ThreadState:
        """Deliver what ``thread_key`` owes now, in the calling thread."""
        if self._paused():
            return ThreadState.WAITING
        state, _sent = self._deliver_claimed(thread_key)
        return state

    def _deliver_claimed(self, thread_key: str) -> tuple[ThreadState, bool]:
        # One deliverer per thread: within this process by a set that no clock can expire
        # (a send may outlive the lease: a Retry-After slept in the WebClient), across
        # replicas by the lease, renewed before every attempt.
        with self._delivering_lock:
            if thread_key in self._delivering:
                return ThreadState.WAITING, False
            self._delivering.add(thread_key)
        owner = f"{self.owner}:{threading.get_ident()}"
        try:
            if not self._renew(thread_key, owner):
                return ThreadState.WAITING, False
            started = time.perf_counter()
            try:
                with log_context(thread=thread_key):
                    state, sent = self._deliver_thread(thread_key, owner)
                    log.debug(
                        "thread delivery pass: %s",
                        state.name.lower(),
                        extra={
                            "outcome": state.name.lower(),
                            "duration_ms": round(1000 * (time.perf_counter() - started)),
                        },
                    )
                    return state, sent
            finally:
                self.store.release_thread(thread_key, owner=owner)
        finally:
            with self._delivering_lock:
                self._delivering.discard(thread_key)

    def _renew(self, thread_key: str, owner: str) -> bool:
        return self.store.claim_thread(thread_key, owner=owner, ttl=THREAD_LEASE, now=self.clock())

    def _deliver_thread(self, thread_key: str, owner: str) -> tuple[ThreadState, bool]:
        """The thread's posts in order (a post that cannot go now holds the later ones),
        and its parent's latest edit when the edit budget allows (it holds nothing)."""
        thread = self.store.thread(thread_key)
        entries = self.store.pending(thread_key)
        if thread is None or not entries:
            return ThreadState.DELIVERED, False
        entries = self._coalesce_edits(entries)
        sent_any = False
        posts_held = False
        left = False  # something stays owed
        for entry in entries:
            edit = entry.kind is Kind.EDIT
            if not edit and posts_held:
                left = True
                continue
            if entry.kind is not Kind.PARENT and thread.parent_ts is None:
                if any(e.kind is Kind.PARENT for e in entries):
                    left = True  # the parent goes first
                    posts_held = True
                    continue
                self.store.drop([entry.id], error="the thread has no parent message")
                continue
            if entry.next_attempt_at > self.clock() or not self._may_send(entry, thread):
                left = True
                posts_held = posts_held or not edit
                continue
            if sent_any and not self._renew(thread_key, owner):
                return ThreadState.WAITING, sent_any  # another replica took the thread over
            outcome, ts = self._deliver_one(entry, thread)
            if outcome is ThreadState.GONE:
                return ThreadState.GONE, sent_any
            if outcome is ThreadState.WAITING:
                if self._paused():
                    return ThreadState.WAITING, sent_any  # our token is refused: stop all
                left = True
                posts_held = posts_held or not edit
                continue
            sent_any = True
            if entry.kind is Kind.PARENT and ts is not None:
                thread = replace(thread, parent_ts=ts)
        return (ThreadState.WAITING if left else ThreadState.DELIVERED), sent_any

    def _may_send(self, entry: OutboxEntry, thread: Thread) -> bool:
        """Whether ``entry`` fits Slack's rate limits now; if so its call is paid for.  A
        reply that is not a thread's end leaves :data:`FINAL_RESERVE` of its channel's
        posts for the ends that may come meanwhile (completions first, over time too); a
        parent (the answer to a command) does not."""
        if entry.kind is Kind.EDIT:
            return self.gate.may_send(UPDATE, None)
        progress = entry.kind is Kind.REPLY and entry.priority != FINAL_PRIORITY
        keep = FINAL_RESERVE if progress else 0.0
        return self.gate.may_send(POST, thread.channel_id, keep=keep)

    def held(self, method: str, channel: str | None = None) -> float:
        """Seconds until the sender tries ``method`` (in ``channel``, for posts) again: a
        budget found empty or Slack's ``Retry-After``; 0 when it may go now."""
        return self.gate.held(method, channel)

    def _coalesce_edits(self, entries: list[OutboxEntry]) -> list[OutboxEntry]:
        """Drop what newer messages of the thread supersede (see :mod:`coalesce`)."""
        superseded = coalesce.superseded_edits(entries)
        if superseded:
            self.store.drop(sorted(superseded), error="superseded by a newer edit")
        outdated = coalesce.progress_before_final(entries)
        if outdated:
            self.store.drop(sorted(outdated), error="superseded by the final reply")
        return [entry for entry in entries if entry.id not in superseded | outdated]

    def _paused(self) -> bool:
        return self.monotonic() < self.status.paused_until

    def _deliver_one(self, entry: OutboxEntry, thread: Thread) -> tuple[ThreadState, str | None]:
        """One attempt at one message: recorded first, looked for if it may be in Slack."""
        attempt = self.store.start_attempt(entry.id)
        if entry.kind is Kind.EDIT:
            # A newer state of the parent may have replaced the body since it was read.
            entry = replace(entry, body=self.store.entry_body(entry.id) or entry.body)
        plain = attempt > PLAIN_AFTER
        destination = Destination(channel_id=thread.channel_id, thread_ts=thread.parent_ts)
        try:
            ts = self._found_earlier(entry, destination) if attempt > 1 else None
            if ts is None:
                method = UPDATE if entry.kind is Kind.EDIT else POST
                channel = None if entry.kind is Kind.EDIT else thread.channel_id
                with self.budget.paid(method, channel):
                    ts = self._send(entry, destination, plain=plain)
                if entry.kind is not Kind.EDIT:
                    self.gate.posted(thread.channel_id)
        except CodecError as exc:
            log.error("outbox message %s cannot be read and is dropped: %s", entry.key, exc)
            self.store.drop([entry.id], error=f"unreadable: {exc}")
            return ThreadState.DELIVERED, None
        except DestinationGone as exc:
            closed = self.store.close_thread(entry.thread_key, error=exc.code, now=self.clock())
            log.warning(
                "%s: channel %s cannot be posted in (%s); %d message(s) dropped",
                entry.thread_key,
                thread.channel_id,
                exc.code,
                closed,
            )
            return ThreadState.GONE, None
        except MessageGone as exc:
            return self._message_gone(entry, exc), None
        except ContentRejected as exc:
            return self._rejected(entry, attempt, exc), None
        except NotAuthorized as exc:
            self._not_authorized(entry, exc)
            return ThreadState.WAITING, None
        except DeliveryFailed as exc:
            self._retry(entry, attempt, exc, channel_id=thread.channel_id)
            return ThreadState.WAITING, None
        self.store.mark_sent(entry, ts=ts, now=self.clock())
        self._delivered(entry)
        return ThreadState.DELIVERED, ts

    def _found_earlier(self, entry: OutboxEntry, destination: Destination) -> str | None:
        """The ts of this message if an earlier attempt reached Slack after all."""
        ts = dispatch.found_earlier(self.notifier, entry, destination)
        if ts is not None:
            log.info("%s was delivered by an earlier attempt; not sending it again", entry.key)
        return ts

    def _send(self, entry: OutboxEntry, destination: Destination, *, plain: bool) -> str | None:
        return dispatch.send(self.notifier, entry, destination, plain=plain)

    def _delivered(self, entry: OutboxEntry) -> None:
        if self.status.failing_since is not None:
            log.warning(
                "Slack takes messages again (after %d failed attempts in %.0f s)",
                self.status.failed_attempts - self._failed_before,
                self.monotonic() - self.status.failing_since,
            )
            self.status.failing_since = None
            # Slack is back: what waits out a long backoff goes now, not minutes later.
            self.store.retry_now(now=self.clock())
            self.kick()
        if self.status.not_authorized is not None:
            log.warning("Slack accepts our token again; delivery resumed")
            self.status.not_authorized = None
        final = entry.kind is Kind.REPLY and entry.priority == FINAL_PRIORITY
        if final and self.on_completion_delivered is not None:
            event = codec.load_event(entry.body)
            if isinstance(event, (Completed, Failed)):
                owed_for = (self.clock() - entry.created_at).total_seconds()
                self.on_completion_delivered(max(0.0, owed_for))

    def _message_gone(self, entry: OutboxEntry, exc: MessageGone) -> ThreadState:
        if entry.kind is Kind.EDIT and entry.priority == FINAL_PRIORITY:
            # The watch has ended; its final edit is best effort: the parent keeps its state.
            self.store.drop([entry.id], error=exc.code)
            return ThreadState.DELIVERED
        closed = self.store.close_thread(entry.thread_key, error=exc.code, now=self.clock())
        log.warning(
            "%s: the parent message is gone (%s); %d message(s) dropped",
            entry.thread_key,
            exc.code,
            closed,
        )
        return ThreadState.GONE

    def _rejected(self, entry: OutboxEntry, attempt: int, exc: ContentRejected) -> ThreadState:
        if attempt >= GIVE_UP_AFTER:
            log.error("%s: Slack refuses even the plain text (%s); dropped", entry.key, exc.code)
            self.store.drop([entry.id], error=exc.code)
            return ThreadState.DELIVERED
        if attempt == PLAIN_AFTER:
            log.warning(
                "%s: Slack refused the message %d times (%s); sending it as plain text",
                entry.key,
                attempt,
                exc.code,
            )
        self._retry(entry, attempt, exc, soon=attempt >= PLAIN_AFTER)
        return ThreadState.WAITING

    def _not_authorized(self, entry: OutboxEntry, exc: NotAuthorized) -> None:
        if self.status.not_authorized is None:
            log.error(
                "Slack refuses our token (%s): nothing can be posted until SLACK_BOT_TOKEN "
                "is fixed; trying again every %.0f s",
                exc.code,
                AUTH_PROBE_SECONDS,
            )
        self.status.not_authorized = exc.code
        self.status.paused_until = self.monotonic() + AUTH_PROBE_SECONDS
        at = self.clock() + timedelta(seconds=AUTH_PROBE_SECONDS)
        self.store.retry_later(entry.id, at=at, error=exc.code)

    def _retry(
        self,
        entry: OutboxEntry,
        attempt: int,
        exc: DeliveryFailed | ContentRejected,
        *,
        soon: bool = False,
        channel_id: str = "",
    ) -> None:
        self.status.failed_attempts += 1
        self.status.last_error = f"{exc.code or type(exc).__name__}"
        if self.status.failing_since is None:
            # One line when Slack goes bad, one when it comes back (see _delivered).
            self.status.failing_since = self.monotonic()
            self._failed_before = self.status.failed_attempts - 1
            log.warning("Slack calls are failing (%s); retrying with backoff", exc)
        retry_after = exc.retry_after if isinstance(exc, DeliveryFailed) else None
        if retry_after is not None:
            # Slack's Retry-After applies to the method (and, for posts, the channel) only.
            self.status.rate_limited += 1
            if entry.kind is Kind.EDIT:
                self.gate.hold(UPDATE, None, retry_after)
            else:
                self.gate.hold(POST, channel_id, retry_after)
            delay = retry_after
        elif soon:
            delay = 0.0
        else:
            delay = min(MAX_BACKOFF_SECONDS, 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.5)  # noqa: S311
        log.debug("%s: attempt %d failed (%s); next in %.1f s", entry.key, attempt, exc, delay)
        self.store.retry_later(entry.id, at=self.clock() + timedelta(seconds=delay), error=str(exc))
