"""The bot's own budget of Slack Web API calls, so that Slack never has to answer 429.

Slack's limits are per workspace: a budget per method *tier* (``chat.update`` is Tier 3,
about 50 a minute for all channels together) and, for ``chat.postMessage``, about one
message a second per channel.  :class:`SlackBudget` holds one token bucket per method and
one per channel for posts; a call goes only with a token of each of its buckets.

Two ways to spend it:

* ``try_acquire(method, channel=...)`` takes the tokens and returns ``0.0``, or takes
  nothing and returns the seconds until they are there.  The sender uses it to decide what
  to send next (a completion before a progress edit) without ever blocking on a budget.
* ``acquire(method, channel=..., timeout=...)`` blocks until the tokens are there.  The
  Web API client calls it before every call (:class:`bot.slack.observed.BudgetedWebClient`),
  so any direct use of the client — a lookup, ``views.publish`` — is inside the budget too.
  A call the sender already paid for runs under ``with budget.paid(method, channel):`` and
  is not charged twice.

Where the buckets live: :class:`LocalBuckets` (this process; tests, one replica) or the
database (:class:`bot.store.budget.BudgetStore`, shared by every replica and timed by the
database's clock), chosen by whoever builds the budget.  The figures are Slack's published
minimums with a little headroom (Slack counts arrival times, we count departures).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

#: The method of posts (limited per channel).
POST = "chat.postMessage"


@dataclass(frozen=True, slots=True)
class Limit:
    """A token bucket: ``per_minute`` tokens a minute, at most ``burst`` banked."""

    per_minute: float
    burst: float

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a limit needs per_minute > 0 and burst >= 1")

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


#: Slack's tiers (per workspace), with bursts a little below what Slack tolerates.
TIER_2 = Limit(20, 3)
TIER_3 = Limit(50, 8)
TIER_4 = Limit(100, 18)
#: ``chat.postMessage``: about one a second per channel, three at once at most.
POST_PER_CHANNEL = Limit(60, 3)

#: The tier of each Web API method scanbot calls; any other method is held to Tier 2.
METHOD_LIMITS: Mapping[str, Limit] = {
    "auth.test": TIER_4,
    "chat.update": TIER_3,
    "chat.postEphemeral": TIER_4,
    "conversations.history": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.info": TIER_3,
    "conversations.join": TIER_3,
    "views.publish": TIER_4,
}


class BudgetExhaustedError(Exception):
    """``acquire`` waited ``timeout`` seconds and the budget still had no token."""


class Buckets(Protocol):
    """Token buckets by name: take one token from each of ``buckets``, all or none."""

    def take(self, buckets: list[tuple[str, Limit]], *, keep: float = 0.0) -> float:
        """0.0 when a token of each bucket was taken, leaving at least ``keep`` more in each,
        else the seconds until that can be (nothing taken)."""
        ...


def needed(limit: Limit, keep: float) -> float:
    """Tokens a bucket must hold for a call that leaves ``keep`` (never more than its
    burst: a reserve larger than the bucket would starve the call)."""
    return 1.0 + max(0.0, min(keep, limit.burst - 1.0))


class LocalBuckets:
    """Token buckets in this process (thread-safe), on an injectable monotonic clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)
        self._lock = threading.Lock()

    def _level(self, name: str, limit: Limit, now: float) -> float:
        tokens, at = self._state.get(name, (limit.burst, now))
        return min(limit.burst, tokens + max(0.0, now - at) * limit.per_second)

    def take(self, buckets: list[tuple[str, Limit]], *, keep: float = 0.0) -> float:
        with self._lock:
            now = self._clock()
            levels = [(name, limit, self._level(name, limit, now)) for name, limit in buckets]
            wait = max(
                (
                    (need - level) / limit.per_second
                    for _n, limit, level in levels
                    if level < (need := needed(limit, keep))
                ),
                default=0.0,
            )
            if wait > 0:
                return wait
            for name, _limit, level in levels:
                self._state[name] = (level - 1.0, now)
            return 0.0


@dataclass(frozen=True, slots=True)
class BudgetLimits:
    """The limits a budget holds calls to."""

    methods: Mapping[str, Limit]
    default: Limit = TIER_2
    post_per_channel: Limit = POST_PER_CHANNEL

    @classmethod
    def published(cls) -> BudgetLimits:
        """Slack's published tiers, with headroom."""
        return cls(methods=dict(METHOD_LIMITS))

    def scaled(self, factor: float) -> BudgetLimits:
        """Every budget ``factor`` times larger (tests against a scaled stand-in)."""

        def bigger(limit: Limit) -> Limit:
            return Limit(limit.per_minute * factor, max(1.0, limit.burst * factor))

        return BudgetLimits(
            methods={name: bigger(limit) for name, limit in self.methods.items()},
            default=bigger(self.default),
            post_per_channel=bigger(self.post_per_channel),
        )

    def of(self, method: str) -> Limit:
        return self.methods.get(method, self.default)


class SlackBudget:
    """Every Slack Web API call of one workspace, held inside Slack's published limits."""

    def __init__(
        self,
        buckets: Buckets,
        limits: BudgetLimits | None = None,
        *,
        workspace: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._buckets = buckets
        self.limits = limits or BudgetLimits.published()
        self._workspace = workspace
        self._sleep = sleep
        self._paid = threading.local()

    def _of(self, method: str, channel: str | None) -> list[tuple[str, Limit]]:
        prefix = f"{self._workspace}:" if self._workspace else ""
        if method == POST:
            if channel is None:
                return []  # not a post Slack would accept; nothing to budget
            return [(f"{prefix}{POST}:{channel}", self.limits.post_per_channel)]
        return [(f"{prefix}{method}", self.limits.of(method))]

    def try_acquire(self, method: str, *, channel: str | None = None, keep: float = 0.0) -> float:
        """Take a call of ``method`` (in ``channel``, for posts) from the budget: 0.0, or
        nothing taken and the seconds to wait.  ``keep``: only when that many tokens stay
        for calls that matter more (a progress reply leaves room for a completion)."""
        buckets = self._of(method, channel)
        return self._buckets.take(buckets, keep=keep) if buckets else 0.0

    def acquire(
        self, method: str, *, channel: str | None = None, timeout: float | None = 60.0
    ) -> None:
        """Wait until a call of ``method`` fits the budget and take it (a call already paid
        for under :meth:`paid` in this thread is not charged again).

        Raises :class:`BudgetExhaustedError` after ``timeout`` seconds (``None``: no limit)."""
        if self._take_paid(method, channel):
            return
        waited = 0.0
        while (wait := self.try_acquire(method, channel=channel)) > 0:
            if timeout is not None and waited + wait > timeout:
                raise BudgetExhaustedError(f"{method}: no budget within {timeout:g} s")
            self._sleep(wait)
            waited += wait

    @contextmanager
    def paid(self, method: str, channel: str | None = None) -> Iterator[None]:
        """Within this block the next call of ``method`` in this thread is paid for already
        (by :meth:`try_acquire`)."""
        previous = getattr(self._paid, "grant", None)
        self._paid.grant = (method, channel)
        try:
            yield
        finally:
            self._paid.grant = previous

    def _take_paid(self, method: str, channel: str | None) -> bool:
        grant = getattr(self._paid, "grant", None)
        if grant is None or grant[0] != method or (method == POST and grant[1] != channel):
            return False
        self._paid.grant = None
        return True


class SharedBuckets:
    """Buckets in the database (:meth:`bot.store.Store.take_tokens`): one budget for every
    replica, timed by the database's clock."""

    def __init__(self, store: TokenStore) -> None:
        self._store = store

    def take(self, buckets: list[tuple[str, Limit]], *, keep: float = 0.0) -> float:
        return self._store.take_tokens(buckets, keep=keep)


class TokenStore(Protocol):
    def take_tokens(self, buckets: Sequence[tuple[str, Limit]], *, keep: float = 0.0) -> float: ...


class Unlimited:
    """Buckets that never run out (a budget turned off: tests with a permissive stand-in)."""

    def take(self, buckets: list[tuple[str, Limit]], *, keep: float = 0.0) -> float:
        del buckets, keep
        return 0.0
