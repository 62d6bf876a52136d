"""The App Home tab: on ``app_home_opened``, publish what this user follows, what runs in
their channels, the regular scan, the subscriptions and the health summary.

Opening the tab again and again publishes at most once per user every
:data:`REFRESH_EVERY` (per process, by the bot's clock): the health summary asks the console.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.process.workqueue import WorkQueue
from bot.slack.blocks_home import HomeData, home_view
from bot.slack.errors import report_unexpected
from bot.slack.status import status_report
from bot.watcher.lifecycle import WatchContext

log = logging.getLogger(__name__)

#: At most one ``views.publish`` per user this often.
REFRESH_EVERY = timedelta(seconds=10)


class HomeThrottle:
    """Remembers when each user's Home was last published."""

    def __init__(self, every: timedelta, clock: Callable[[], datetime]) -> None:
        self._every = every
        self._clock = clock
        self._last: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def take(self, user_id: str) -> bool:
        """True (and remembered) when ``user_id``'s Home may be published now."""
        now = self._clock()
        with self._lock:
            last = self._last.get(user_id)
            if last is not None and timedelta() <= now - last < self._every:
                return False
            if len(self._last) > 10_000:  # forget users not seen lately
                self._last = {u: t for u, t in self._last.items() if now - t < self._every}
            self._last[user_id] = now
            return True


def register(app: App, ctx: WatchContext, work: WorkQueue) -> None:
    # The clock is read when a Home is opened, not here (the app is built before it runs).
    throttle = HomeThrottle(REFRESH_EVERY, lambda: ctx.services.clock())  # noqa: PLW0108

    @app.event("app_home_opened")
    def home_opened(ack: Ack, event: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = str(event.get("user") or "")
        if event.get("tab", "home") != "home" or not user_id or not throttle.take(user_id):
            return
        reservation = work.reserve()
        if reservation is None:
            log.info("work queue full: the Home tab of %s is not refreshed", user_id)
            return
        reservation.submit(
            lambda: publish_home(ctx, client, user_id),
            on_error=lambda error: report_unexpected(error, None),
        )


def publish_home(ctx: WatchContext, client: WebClient, user_id: str) -> None:
    """Gather what ``user_id`` sees and publish it as their Home tab."""
    client.views_publish(user_id=user_id, view=home_view(home_data(ctx, user_id)))


def home_data(ctx: WatchContext, user_id: str) -> HomeData:
    """What the Home tab shows ``user_id``: "their channels" are the channels they follow a
    scan in or subscribed (scanbot keeps no list of channel members)."""
    store = ctx.services.store
    open_watches = store.list_open()
    subscriptions = store.subscriptions()
    followed = [watch for watch in open_watches if watch.requester_id == user_id]
    theirs = {watch.channel_id for watch in followed}
    theirs |= {sub.channel_id for sub in subscriptions if sub.created_by == user_id}
    others = [w for w in open_watches if w.channel_id in theirs and w.requester_id != user_id]
    return HomeData(
        user_id=user_id,
        now=ctx.services.clock(),
        followed=followed,
        in_channels=others,
        subscriptions=subscriptions,
        health=status_report(ctx),
    )
