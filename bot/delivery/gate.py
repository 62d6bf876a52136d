"""When the sender may make a Slack call: its budget of Slack's limits, and Slack's word.

:class:`Gate` answers "may this edit / this post in this channel go now?" for the sender.
It takes the call from the :class:`~bot.delivery.budget.SlackBudget` (so the call is paid
for), remembers for how long a budget found empty or a ``Retry-After`` from Slack holds a
method (or a channel's posts) back so that the sender does not ask again before then, and,
when no budget is kept, paces posts to ``channel_interval`` seconds per channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.delivery.budget import POST, SlackBudget, Unlimited

#: The Web API method of a parent edit.
UPDATE = "chat.update"


def bucket_of(method: str, channel: str | None) -> str:
    """What a hold applies to: a method, or (posts) a method in one channel."""
    return f"{method}:{channel}" if method == POST and channel is not None else method


@dataclass
class Gate:
    """The sender's view of Slack's rate limits (used by one sender; not locked)."""

    budget: SlackBudget = field(default_factory=lambda: SlackBudget(Unlimited()))
    monotonic: Callable[[], float] = time.monotonic
    channel_interval: float = 0.0  # seconds between two posts in one channel (no budget)
    _holds: dict[str, float] = field(default_factory=dict)  # bucket -> monotonic free again
    _last_post: dict[str, float] = field(default_factory=dict)

    def may_send(self, method: str, channel: str | None, *, keep: float = 0.0) -> bool:
        """Whether a call fits now; if so it is paid for (see ``budget.paid``).  ``keep``:
        only if that many calls stay in the budget for what matters more; a call refused
        for it holds back only the calls that keep as much."""
        if method == POST and channel is not None and self._paced(channel):
            return False
        bucket = bucket_of(method, channel)
        if self.held(method, channel) > 0:
            return False
        kept = f"{bucket}|kept" if keep > 0 else bucket
        if keep > 0 and self._holds.get(kept, 0.0) > self.monotonic():
            return False
        wait = self.budget.try_acquire(method, channel=channel, keep=keep)
        if wait > 0:
            self._holds[kept] = self.monotonic() + wait
            return False
        return True

    def posted(self, channel: str) -> None:
        """A post went to ``channel`` (the pace without a budget counts from it)."""
        self._last_post[channel] = self.monotonic()

    def hold(self, method: str, channel: str | None, seconds: float) -> None:
        """Slack said ``Retry-After: seconds`` to ``method`` (in ``channel``, for posts)."""
        bucket = bucket_of(method, channel)
        self._holds[bucket] = max(self._holds.get(bucket, 0.0), self.monotonic() + seconds)

    def held(self, method: str, channel: str | None = None) -> float:
        """Seconds until ``method`` (in ``channel``, for posts) may be tried; 0: now."""
        bucket = bucket_of(method, channel)
        until = max(self._holds.get(bucket, 0.0), self._holds.get(method, 0.0))
        left = until - self.monotonic()
        if left <= 0 and bucket in self._holds:
            del self._holds[bucket]
        return max(0.0, left)

    def held_channels(self) -> set[str]:
        """Channels whose posts are held back now."""
        now = self.monotonic()
        prefix = f"{POST}:"
        return {
            bucket[len(prefix) :]
            for bucket, until in list(self._holds.items())
            if until > now and bucket.startswith(prefix) and not bucket.endswith("|kept")
        }

    def reserved(self, channel: str) -> bool:
        """Whether ``channel``'s posts are kept for threads' ends now."""
        return self._holds.get(f"{bucket_of(POST, channel)}|kept", 0.0) > self.monotonic()

    def reserved_channels(self) -> set[str]:
        """Channels whose posts are kept for threads' ends now (progress replies wait)."""
        now = self.monotonic()
        prefix, suffix = f"{POST}:", "|kept"
        return {
            bucket[len(prefix) : -len(suffix)]
            for bucket, until in list(self._holds.items())
            if until > now and bucket.startswith(prefix) and bucket.endswith(suffix)
        }

    def next_free(self, at_most: float) -> float:
        """Seconds until the first hold ends (at least 10 ms, at most ``at_most``)."""
        now = self.monotonic()
        waits = [until - now for until in self._holds.values() if until > now]
        return max(0.01, min([at_most, *waits]))

    def _paced(self, channel: str) -> bool:
        last = self._last_post.get(channel)
        return last is not None and self.monotonic() - last < self.channel_interval
