"""The notifier boundary: what the watcher tells people, without knowing how it is sent.

The watcher *decides* (a scan progressed, changed phase, completed, failed, a watch expired
or was stopped) and hands a domain :data:`Event` to a :class:`~bot.watcher.services.Notifier`,
addressed to a :class:`Destination` — a channel and the thread of the parent message.  The
notifier chooses the words and the transport (Slack today: :mod:`bot.slack.notifier`; an
outbox that stores events before delivery can sit in between).  Transport failures come back
as the few :class:`DeliveryError` subclasses below, so the watcher never sees a Slack type.

Separation after argoproj/notifications-engine: the condition (:mod:`bot.watcher.lifecycle`),
the template (:mod:`bot.slack.blocks`), the destination (:class:`Destination`) and the
service (the notifier) are separate things.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.console_types import ScanResult
from bot.domain.images import ScanTarget
from bot.domain.progress import ProgressSnapshot
from bot.domain.watch import Watch, WatchState

# --- where ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Destination:
    """A channel, and the thread of the parent message there (``None`` for the channel)."""

    channel_id: str
    thread_ts: str | None = None


# --- about what -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageFollow:
    """The subject of a watch's messages: one image's scan, followed at someone's request."""

    watch_id: int
    target: ScanTarget
    requester_id: str
    since: datetime  # when following started (timezone-aware UTC)

    @classmethod
    def of(cls, watch: Watch) -> ImageFollow:
        return cls(
            watch_id=watch.id,
            target=watch.target,
            requester_id=watch.requester_id,
            since=watch.created_at,
        )


@dataclass(frozen=True, slots=True)
class RegularScanFollow:
    """The subject of a subscribed channel's thread about one regular registry scan."""

    run_id: int
    channel_id: str
    scan_key: str  # names the scan: its start time (epoch seconds) when the console gives it
    since: datetime  # when the bot first saw the scan running (timezone-aware UTC)


#: What a thread is about: one image's scan (a watch) or a regular scan (a subscription).
Subject = ImageFollow | RegularScanFollow


@dataclass(frozen=True, slots=True)
class RegularOverdue:
    """The dead-man's switch, told in a subscribed channel: no regular scan has completed
    since ``last_completed`` for over ``max_age`` (``recovered_at`` None), or one completed
    again at ``recovered_at``.  ``mention`` is pinged for the outage, never the recovery."""

    channel_id: str
    last_completed: datetime
    max_age: timedelta
    recovered_at: datetime | None = None
    mention: str = ""


@dataclass(frozen=True, slots=True)
class Estimate:
    """A rate and what it predicts: "~12 min left at 4 images/min"."""

    per_minute: float
    remaining: timedelta


@dataclass(frozen=True, slots=True)
class ParentView:
    """Everything the parent message shows: it is edited in place to the latest view."""

    subject: Subject | RegularOverdue
    state: WatchState  # open states show live progress (and a Stop button); others are final
    snap: ProgressSnapshot
    now: datetime
    estimate: Estimate | None = None
    stalled: bool = False
    console_link: str = ""

    @classmethod
    def of(
        cls,
        watch: Watch,
        snap: ProgressSnapshot,
        *,
        now: datetime,
        estimate: Estimate | None = None,
        stalled: bool = False,
        console_link: str = "",
    ) -> ParentView:
        return cls(
            subject=ImageFollow.of(watch),
            state=watch.state,
            snap=snap,
            now=now,
            estimate=estimate,
            stalled=stalled,
            console_link=console_link,
        )


# --- what happened ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progressed:
    """Counts moved within the same phase (thread replies for these are throttled)."""

    subject: Subject
    previous: ProgressSnapshot | None
    snap: ProgressSnapshot


@dataclass(frozen=True, slots=True)
class PhaseChanged:
    """The scan entered another phase, or the console started reporting an error."""

    subject: Subject
    previous: ProgressSnapshot | None
    snap: ProgressSnapshot


@dataclass(frozen=True, slots=True)
class Completed:
    """The scan finished without an error; ``result`` is its summary when the console had one.

    ``baseline`` is the image's result when following started (for the diff); ``fresh`` is
    False when the console only had an older result than this scan's (``result`` is then
    None: an old result is never shown as new); ``console_link`` the image's console page.
    ``result_wait`` is how long this scan's result is still looked for when it was not there
    yet (zero: not looked for); it is then told in a reply of its own
    (:class:`ResultArrived` or :class:`ResultMissing`).
    """

    subject: ImageFollow
    snap: ProgressSnapshot
    duration: timedelta
    result: ScanResult | None
    baseline: ScanResult | None = None
    fresh: bool = True
    console_link: str = ""
    result_wait: timedelta = timedelta()


@dataclass(frozen=True, slots=True)
class ResultArrived:
    """This scan's result appeared in the console after "Scan complete" was told."""

    subject: ImageFollow
    result: ScanResult
    baseline: ScanResult | None = None
    console_link: str = ""


@dataclass(frozen=True, slots=True)
class ResultMissing:
    """The console wrote no result of this scan within ``waited`` after it completed;
    ``older`` is the older result it still shows (never shown as this scan's)."""

    subject: ImageFollow
    waited: timedelta
    older: ScanResult | None = None
    console_link: str = ""


@dataclass(frozen=True, slots=True)
class Failed:
    """The scan finished with an error (``snap.error``)."""

    subject: ImageFollow
    snap: ProgressSnapshot
    duration: timedelta
    result: ScanResult | None


@dataclass(frozen=True, slots=True)
class Expired:
    """Following gave up after ``max_duration``; the scan had not finished."""

    subject: ImageFollow
    last: ProgressSnapshot | None
    max_duration: timedelta


@dataclass(frozen=True, slots=True)
class Stopped:
    """A person stopped following; the scan itself keeps running."""

    subject: ImageFollow
    by_user: str


@dataclass(frozen=True, slots=True)
class Stalled:
    """The counts have not moved for ``stalled_for``; ``cause`` is the likely reason ("" if
    unknown).  Told once per stall; watches mention their requester, subscriptions their
    ``mention`` (Slack markup, "" for nobody)."""

    subject: Subject
    snap: ProgressSnapshot
    stalled_for: timedelta
    cause: str = ""
    mention: str = ""


@dataclass(frozen=True, slots=True)
class Resumed:
    """The counts moved again after a stall of ``stalled_for``."""

    subject: Subject
    snap: ProgressSnapshot
    stalled_for: timedelta


@dataclass(frozen=True, slots=True)
class RegistryErrors:
    """``GET /statuses/registry`` lists errors not told in this thread before."""

    subject: RegularScanFollow
    errors: tuple[str, ...]
    mention: str = ""  # who the subscription pings ("" for nobody)


@dataclass(frozen=True, slots=True)
class RegularCompleted:
    """The regular scan ended: its totals, how long it took and the errors seen meanwhile."""

    subject: RegularScanFollow
    snap: ProgressSnapshot
    duration: timedelta
    errors: tuple[str, ...] = ()
    mention: str = ""  # pinged when the scan failed or saw errors ("" for nobody)


#: Every event a thread can receive.  Handlers ``match`` on it and end with ``assert_never``.
Event = (
    Progressed
    | PhaseChanged
    | Completed
    | ResultArrived
    | ResultMissing
    | Failed
    | Expired
    | Stopped
    | Stalled
    | Resumed
    | RegistryErrors
    | RegularCompleted
)


# --- what went wrong delivering it ------------------------------------------------------


class DeliveryError(Exception):
    """A message could not be delivered.  ``code`` is the transport's own error code."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class DestinationGone(DeliveryError):  # noqa: N818
    """The channel cannot be posted in at all (not a member, archived, deleted)."""


class MessageGone(DeliveryError):  # noqa: N818
    """The parent message is gone, or can no longer be edited or replied to."""


class DeliveryFailed(DeliveryError):  # noqa: N818
    """Anything else (after the transport's own retries): try again later.

    ``retry_after`` is the transport's own word on when to try again (a rate limit).
    The message may or may not have been delivered; the sender looks before repeating it.
    """

    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ContentRejected(DeliveryError):  # noqa: N818
    """The transport refuses this message's content (e.g. Slack's ``invalid_blocks``)."""


class NotAuthorized(DeliveryError):  # noqa: N818
    """Our credentials are refused for good (revoked token, inactive account, missing scope).

    Nothing will be delivered until an operator fixes the configuration.
    """
