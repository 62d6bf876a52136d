"""The dead-man's switch: subscribed channels are told when the regular scan stops completing.

While any channel subscribes, the poll cycle asks ``GET /statuses/registry`` at most every
:data:`CHECK_EVERY`.  When its last completion is older than
``SCANBOT_REGULAR_MAX_AGE_HOURS``, each subscribed channel is owed one message (with its
mention) under a key naming that completion — the outage — so it is told once however many
restarts or replicas decide it again; and when a newer completion appears, one more message
(without a mention).  The outage told is remembered in the database (``kv``), so a restart
during an outage neither repeats it nor forgets the recovery.  A console that reports no
completion at all cannot date an outage: ``scanbot check`` reports that instead.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.console.errors import ConsoleError
from bot.domain import owed
from bot.domain.events import ParentView, RegularOverdue
from bot.domain.owed import Owed
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.regular import Subscription
from bot.domain.watch import WatchState
from bot.watcher.context import WatchContext

log = logging.getLogger(__name__)

#: At most one ``GET /statuses/registry`` for the switch this often.
CHECK_EVERY = timedelta(minutes=5)
#: ``kv`` keys: when the switch last asked, and the completion whose outage was told ("": none).
CHECKED_KEY = "deadman.checked_at"
OUTAGE_KEY = "deadman.outage"

_IDLE = ProgressSnapshot(phase=Phase.IDLE)


def check(ctx: WatchContext) -> str:
    """One look, when due: "overdue", "recovered", "ok", "console-error" or "" (not asked)."""
    services = ctx.services
    store = services.store
    subscriptions = store.subscriptions()
    if not subscriptions:
        return ""
    now = services.clock()
    checked = _time(store.get_value(CHECKED_KEY))
    if checked is not None and timedelta() <= now - checked < CHECK_EVERY:
        return ""
    store.set_value(CHECKED_KEY, now.isoformat(), now=now)
    try:
        last = services.console.registry_status().completed_at
    except ConsoleError as exc:
        log.info("dead-man's switch: no registry status: %s", exc)
        return "console-error"
    if last is None:
        return "ok"
    max_age = timedelta(hours=services.settings.scanbot_regular_max_age_hours)
    outage = _time(store.get_value(OUTAGE_KEY))
    late = now - last > max_age
    if outage is not None:
        if late or last <= outage:
            return "overdue"  # told already: once per outage, until a scan completes in time
        messages = [_recovered(sub, outage, last, max_age, now) for sub in subscriptions]
        store.owe_once(messages, now=now)
        store.set_value(OUTAGE_KEY, "", now=now)
        log.warning("regular registry scans complete again (%s)", last.isoformat())
        return "recovered"
    if not late:
        return "ok"
    messages = [_overdue(sub, last, max_age, now) for sub in subscriptions]
    if store.owe_once(messages, now=now):
        log.warning(
            "no regular registry scan completed since %s (over %g h): told %d channel(s)",
            last.isoformat(),
            services.settings.scanbot_regular_max_age_hours,
            len(subscriptions),
        )
    store.set_value(OUTAGE_KEY, last.isoformat(), now=now)
    return "overdue"


def _thread(last: datetime, channel_id: str) -> str:
    return f"deadman:{int(last.timestamp())}:{channel_id}"


def _overdue(sub: Subscription, last: datetime, max_age: timedelta, now: datetime) -> Owed:
    subject = RegularOverdue(sub.channel_id, last, max_age, mention=sub.alert_mention(now))
    view = ParentView(subject, WatchState.ACTIVE, _IDLE, now)
    return owed.parent(_thread(last, sub.channel_id), sub.channel_id, view)


def _recovered(
    sub: Subscription, last: datetime, recovered: datetime, max_age: timedelta, now: datetime
) -> Owed:
    subject = RegularOverdue(sub.channel_id, last, max_age, recovered_at=recovered)
    view = ParentView(subject, WatchState.COMPLETED, _IDLE, now)
    thread = _thread(last, sub.channel_id) + ":recovered"
    return owed.parent(thread, sub.channel_id, view)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
