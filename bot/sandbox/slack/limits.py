"""Slack's published Web API rate limits, enforced by the stand-in.

Slack gives each app a budget per method *tier* per workspace (``chat.update`` is Tier 3:
about 50 calls a minute, all channels together) and ``chat.postMessage`` a budget per
channel (about one message a second, short bursts allowed).  Past a budget Slack answers
HTTP 429 with ``Retry-After`` (whole seconds), and the limit applies to that method only.

The stand-in models each budget as a token bucket: ``per_minute`` tokens a minute, at most
``burst`` banked.  The figures are Slack's published minimums (Slack may allow more); the
bursts are this stand-in's choice of "short bursts".  :class:`SlackLimits` takes its clock
from the caller, so tests move time by hand instead of sleeping.

    limits = SlackLimits()                   # Slack's published tiers, real time
    limits = SlackLimits(clock=manual)       # the same budgets on a clock the test moves
    limits = SlackLimits().scaled(10)        # every budget ten times larger (quick tests)
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_minute`` calls a minute, at most ``burst`` of them at once."""

    per_minute: float
    burst: float

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_minute > 0 and burst >= 1")


TIER_2 = Rate(20, 5)
TIER_3 = Rate(50, 10)
TIER_4 = Rate(100, 20)
#: ``chat.postMessage``: about one a second in each channel, short bursts allowed.
POST_PER_CHANNEL = Rate(60, 4)

#: Slack's tier of each method the stand-in answers (and ``views.publish``).  A method not
#: listed is Tier 2 here; ``chat.postMessage`` is limited per channel instead.
PUBLISHED_TIERS: Mapping[str, Rate] = {
    "auth.test": TIER_4,
    "chat.update": TIER_3,
    "chat.postEphemeral": TIER_4,
    "conversations.history": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.info": TIER_3,
    "conversations.join": TIER_3,
    "views.publish": TIER_4,
}


class _Bucket:
    __slots__ = ("rate", "tokens", "updated")

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = rate.burst
        self.updated = now

    def take(self, now: float) -> float:
        """0 when a call may go now (one token taken), else the seconds until it may."""
        per_second = self.rate.per_minute / 60.0
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.rate.burst, self.tokens + elapsed * per_second)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / per_second


@dataclass
class SlackLimits:
    """Budgets per method (per workspace) and per channel for posts; counts every 429."""

    tiers: Mapping[str, Rate] = field(default_factory=lambda: dict(PUBLISHED_TIERS))
    default: Rate = TIER_2
    post_per_channel: Rate = POST_PER_CHANNEL
    clock: Callable[[], float] = time.monotonic
    paused: bool = False  # while True nothing is limited (nothing counted): seeding a bench
    _buckets: dict[str, _Bucket] = field(default_factory=dict, init=False, repr=False)
    _limited: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def scaled(self, factor: float) -> SlackLimits:
        """The same limits with every budget (rate and burst) ``factor`` times larger."""

        def bigger(rate: Rate) -> Rate:
            return Rate(rate.per_minute * factor, max(1.0, rate.burst * factor))

        return replace(
            self,
            tiers={name: bigger(rate) for name, rate in self.tiers.items()},
            default=bigger(self.default),
            post_per_channel=bigger(self.post_per_channel),
        )

    def rate_of(self, method: str) -> Rate:
        return (
            self.post_per_channel
            if method == "chat.postMessage"
            else self.tiers.get(method, self.default)
        )

    def check(self, method: str, channel: str | None) -> int | None:
        """Take this call from its budget: ``None`` when it may go, else the ``Retry-After``
        (whole seconds, at least 1) of the 429 it gets (counted)."""
        key = f"{method}:{channel}" if method == "chat.postMessage" else method
        if self.paused:
            return None
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.rate_of(method), now)
            wait = bucket.take(now)
            if wait <= 0:
                return None
            self._limited[method] += 1
            return max(1, math.ceil(wait))

    @property
    def limited(self) -> dict[str, int]:
        """How many calls of each method were answered 429 for exceeding its budget."""
        with self._lock:
            return dict(self._limited)

    def reset(self) -> None:
        """Full budgets again and the counts forgotten."""
        with self._lock:
            self._buckets.clear()
            self._limited.clear()
