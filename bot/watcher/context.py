"""What a watch's decisions share: the context, the outcome of a poll, the messages every
decision owes in the same words (the parent, its final edit), and the one rule for when a
thread gets a reply (:func:`thread_reply`), for watches and regular runs alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.console.errors import ConsoleError
from bot.domain import owed
from bot.domain.console_types import ProgressEntry
from bot.domain.events import ParentView, PhaseChanged, Progressed, Subject
from bot.domain.owed import Owed, watch_thread
from bot.domain.ports import Delivery
from bot.domain.progress import ProgressSnapshot, snapshot
from bot.domain.registries import registry_lines
from bot.domain.results import console_link
from bot.domain.watch import Watch
from bot.watcher.services import Services


@dataclass(frozen=True, slots=True)
class WatchContext:
    services: Services
    delivery: Delivery


class Outcome(StrEnum):
    """What one poll did to one watch (counted in the cycle's report)."""

    OPENED = "opened"  # a subscribed channel started following a regular scan
    WAITING = "waiting"  # the console's answer did not arrive this cycle
    CONSOLE_ERROR = "console-error"  # the console could not answer; tried again next cycle
    UNCHANGED = "unchanged"  # nothing a user would care about changed: no Slack call
    UPDATED = "updated"  # the parent was edited
    REPLIED = "replied"  # the parent was edited and the thread got a reply
    STALLED = "stalled"  # the counts have not moved for SCANBOT_STALL_MINUTES: told once
    COMPLETED = "completed"  # the scan ended; the final reply went out
    EXPIRED = "expired"  # following gave up after SCANBOT_MAX_WATCH_SECONDS
    LEASE_LOST = "lease-lost"  # another replica took the poll lease mid-cycle
    ENDED_MEANWHILE = "ended-meanwhile"  # stopped (or finished) while the console was asked


@dataclass(frozen=True, slots=True)
class Answer:
    """The console's answer for one image in one poll cycle: entries, or the error."""

    entries: list[ProgressEntry] | None = None
    error: ConsoleError | None = None
    #: ``snapshot(entries)``, computed once per answer however many watches it serves.
    snap: ProgressSnapshot | None = None

    @classmethod
    def of(cls, entries: list[ProgressEntry]) -> Answer:
        return cls(entries=entries, snap=snapshot(entries) if entries else None)


def link(ctx: WatchContext, watch: Watch) -> str:
    return console_link(ctx.services.settings.prisma_console_url, watch.target)


def parent_owed(ctx: WatchContext, watch: Watch, snap: ProgressSnapshot, now: datetime) -> Owed:
    view = ParentView.of(watch, snap, now=now, console_link=link(ctx, watch))
    return owed.parent(watch_thread(watch.id), watch.channel_id, view)


def final_edit(ctx: WatchContext, watch: Watch, snap: ProgressSnapshot, now: datetime) -> Owed:
    """The parent's last edit: the final state, without the Stop button."""
    view = ParentView.of(watch, snap, now=now, console_link=link(ctx, watch))
    return owed.edit(watch_thread(watch.id), watch.channel_id, view, final=True)


def max_watch(ctx: WatchContext) -> timedelta:
    return timedelta(seconds=ctx.services.settings.scanbot_max_watch_seconds)


def thread_reply(
    ctx: WatchContext,
    subject: Subject,
    previous: ProgressSnapshot | None,
    snap: ProgressSnapshot,
    *,
    last_reply_at: datetime,
    now: datetime,
) -> PhaseChanged | Progressed | None:
    """The reply a thread is owed when its scan's progress moved from ``previous`` to
    ``snap``: the one rule for following a thread, for watches and regular runs alike.

    A turning point — a new phase, a new console error, or a change of what the registries
    are doing — is told at once (:class:`PhaseChanged`); other progress at most once per
    ``SCANBOT_THREAD_UPDATE_SECONDS`` since ``last_reply_at`` (the last reply, or when
    following started) (:class:`Progressed`); otherwise the parent's edit says it all.
    """
    if turning_point(previous, snap):
        return PhaseChanged(subject, previous, snap)
    interval = timedelta(seconds=ctx.services.settings.scanbot_thread_update_seconds)
    if now - last_reply_at >= interval:
        return Progressed(subject, previous, snap)
    return None


def turning_point(previous: ProgressSnapshot | None, snap: ProgressSnapshot) -> bool:
    """Phase changes, new errors and a change of what the registries do get a reply."""
    return (
        previous is None
        or previous.phase != snap.phase
        or previous.error != snap.error
        or registry_lines(previous) != registry_lines(snap)
    )
