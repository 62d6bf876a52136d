"""The on-call digest: a short summary posted on a cron schedule to ``SCANBOT_DIGEST_CHANNELS``.

:func:`post_digest` is the plain job function (the scheduler's ``scanbot.digest`` job calls
it; tests call it with their own ``now``).  It posts only when a scheduled time has passed
since the last digest, which the store remembers (``kv`` row ``digest.last_posted_at``):
a restart neither repeats a digest nor loses one that fell while the bot was down (it is
posted at start), and a lease lets one replica at a time decide.  The very first run only
records its time, so a new deployment does not post a digest about nothing at start.

A crash between posting and recording repeats that digest once (at least once, never lost).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.config.settings import Settings
from bot.console.errors import ConsoleError
from bot.domain.console_types import RegistryStatus
from bot.domain.events import DeliveryError
from bot.domain.watch import Watch, WatchState
from bot.watcher.services import Services

log = logging.getLogger(__name__)

DIGEST_LOCK = "scanbot.digest"
LAST_POSTED = "digest.last_posted_at"


@dataclass(frozen=True, slots=True)
class Digest:
    """What one digest tells (rendered by the Slack side)."""

    since: datetime
    now: datetime
    timezone: str  # the IANA name the times are shown in, stated in the message
    completed: tuple[Watch, ...]
    failed: tuple[Watch, ...]  # finished with a console error, or could not be posted
    stalled: tuple[Watch, ...]  # expired: the scan did not finish while followed
    stopped: int
    running: tuple[Watch, ...]
    registry: RegistryStatus | None
    registry_error: str = ""


class DigestPoster(Protocol):
    def post_digest(self, channel_id: str, digest: Digest) -> None:
        """Post ``digest`` in the channel; raises :class:`bot.domain.events.DeliveryError`."""
        ...


def digest_trigger(settings: Settings) -> CronTrigger:
    """``SCANBOT_DIGEST_CRON`` in ``SCANBOT_DIGEST_TIMEZONE``, weekdays numbered as cron does."""
    zone = ZoneInfo(settings.scanbot_digest_timezone)
    return CronTrigger.from_crontab(cron_weekdays(settings.scanbot_digest_cron), timezone=zone)


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_weekdays(expression: str) -> str:
    """``expression`` with numeric weekdays as names.

    crontab numbers weekdays 0 (or 7) = Sunday, 1 = Monday; APScheduler 3's ``from_crontab``
    reads numbers as 0 = Monday, so ``0 9 * * 1-5`` would run Tuesday to Saturday.  Names
    mean the same to both.
    """
    fields = expression.split()
    if len(fields) != 5:
        return expression  # CronTrigger reports the malformed expression
    parts = [_weekday_part(part) for part in fields[4].split(",")]
    fields[4] = ",".join(parts)
    return " ".join(fields)


def _weekday_part(part: str) -> str:
    span, _, step_text = part.partition("/")
    if (
        span == "*"
        or not span.replace("-", "").isdigit()
        or (step_text and not step_text.isdigit())
    ):
        return part  # names and '*' need no translation
    first_text, _, last_text = span.partition("-")
    first = int(first_text)
    last = int(last_text) if last_text else (7 if step_text else first)
    step = int(step_text) if step_text else 1
    if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last and step >= 1):
        return part  # out of range: let CronTrigger report it
    names = dict.fromkeys(_DAYS[day] for day in range(first, last + 1, step))
    return ",".join(names)


def due_time(trigger: CronTrigger, last: datetime, now: datetime) -> datetime | None:
    """The first scheduled time after ``last`` if it is not after ``now``, else None."""
    fire = trigger.get_next_fire_time(None, last + timedelta(microseconds=1))
    if fire is None or fire > now:
        return None
    return fire  # type: ignore[no-any-return]


def post_digest(
    services: Services,
    poster: DigestPoster,
    *,
    owner: str,
    now: datetime | None = None,
    trigger: CronTrigger | None = None,
) -> bool:
    """Post the digest to every digest channel if one is due; True when it was posted."""
    settings = services.settings
    channels = settings.scanbot_digest_channels
    now = now or services.clock()
    trigger = trigger or digest_trigger(settings)
    store = services.store
    if not channels:
        return False
    if not store.try_lock(DIGEST_LOCK, owner=owner, ttl=timedelta(minutes=5), now=now):
        log.debug("another replica is deciding the digest")
        return False
    try:
        stored = store.get_value(LAST_POSTED)
        if stored is None:
            store.set_value(LAST_POSTED, now.isoformat(), now=now)
            log.info("digest: first run, the next digest covers from %s", now.isoformat())
            return False
        last = datetime.fromisoformat(stored)
        if due_time(trigger, last, now) is None:
            return False
        digest = gather_digest(services, since=last, now=now)
        posted = _post_everywhere(poster, channels, digest)
        if posted:
            store.set_value(LAST_POSTED, now.isoformat(), now=now)
        return posted
    finally:
        store.release_lock(DIGEST_LOCK, owner=owner)


def gather_digest(services: Services, *, since: datetime, now: datetime) -> Digest:
    """Read the digest's facts: the store's finished and open watches, the regular scan."""
    finished = services.store.finished_since(since, until=now)
    registry: RegistryStatus | None = None
    registry_error = ""
    try:
        registry = services.console.registry_status()
    except ConsoleError as exc:
        registry_error = str(exc)
    return Digest(
        since=since,
        now=now,
        timezone=services.settings.scanbot_digest_timezone,
        completed=_in(finished, WatchState.COMPLETED, failed=False),
        failed=(
            *_in(finished, WatchState.COMPLETED, failed=True),
            *_in(finished, WatchState.FAILED),
        ),
        stalled=_in(finished, WatchState.EXPIRED),
        stopped=len(_in(finished, WatchState.STOPPED)),
        running=tuple(services.store.list_open()),
        registry=registry,
        registry_error=registry_error,
    )


def _in(
    watches: Sequence[Watch], state: WatchState, *, failed: bool | None = None
) -> tuple[Watch, ...]:
    def errored(watch: Watch) -> bool:
        return watch.last_snapshot is not None and bool(watch.last_snapshot.error)

    return tuple(
        watch
        for watch in watches
        if watch.state is state and (failed is None or errored(watch) == failed)
    )


def _post_everywhere(poster: DigestPoster, channels: Sequence[str], digest: Digest) -> bool:
    """Post in each channel; True when at least one took it (a gone channel skips, logged)."""
    posted = False
    for channel in channels:
        try:
            poster.post_digest(channel, digest)
            posted = True
        except DeliveryError as exc:
            log.warning("digest not posted in %s: %s", channel, exc)
    return posted
