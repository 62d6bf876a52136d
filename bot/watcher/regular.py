"""Subscribed channels follow every regular registry scan.

Each poll cycle sends *one* ``GET /registry/progress`` without parameters when any channel
subscribes (or a run is still open), however many channels subscribe, and none otherwise.
A scan start (``isScanOngoing: true``) opens one run per subscribed channel — a parent
message updated in place, phase changes and throttled progress in its thread, what each
registry is doing when the step titles name several, step errors and new
``statuses/registry`` errors (asked at most every :data:`STATUS_EVERY`) when they appear,
stall alerts — and the scan's end replies "complete" with the totals, the duration and the
errors seen.  Runs live in the database (one per scan and channel), so a restart during a
scan continues the same threads.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.console.errors import ConsoleError, ConsoleUnavailable
from bot.domain import owed
from bot.domain.estimate import estimate, sample
from bot.domain.events import (
    ParentView,
    PhaseChanged,
    Progressed,
    RegistryErrors,
    RegularCompleted,
    RegularScanFollow,
)
from bot.domain.follow_state import FollowState
from bot.domain.owed import Owed, regular_thread
from bot.domain.progress import Phase, ProgressSnapshot, completed_after_empty, snapshot
from bot.domain.regular import Level, RegularRun, Subscription
from bot.domain.watch import WatchState
from bot.watcher import stall
from bot.watcher.context import Outcome, thread_reply, turning_point
from bot.watcher.lifecycle import Answer, WatchContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hearing:
    """What a subscribed channel hears now: its level, whether it is snoozed, who to ping."""

    level: Level = Level.NORMAL
    snoozed: bool = False
    mention: str = ""

    @classmethod
    def of(cls, sub: Subscription | None, now: datetime) -> Hearing:
        """A run whose channel is no longer subscribed hears what ``normal`` hears."""
        if sub is None:
            return cls()
        return cls(sub.level, sub.snoozed(now), sub.alert_mention(now))


#: How often ``GET /statuses/registry`` is asked while a subscribed scan runs.
STATUS_EVERY = timedelta(seconds=60)


def wanted(ctx: WatchContext) -> bool:
    """True when the regular scan must be asked about this cycle."""
    store = ctx.services.store
    return bool(store.subscriptions()) or bool(store.open_runs())


def advance_all(ctx: WatchContext, answer: Answer | None, *, elapsed: float) -> dict[Outcome, int]:
    """Apply one regular progress answer to every subscribed channel; counts per outcome."""
    if answer is None:
        return {Outcome.WAITING: 1}
    if answer.error is not None:
        # An unreachable console is logged once per change (bot.process.health), not per cycle.
        unreachable = isinstance(answer.error, ConsoleUnavailable)
        log.log(
            logging.DEBUG if unreachable else logging.WARNING,
            "console error for the regular scan: %s",
            answer.error,
        )
        return {Outcome.CONSOLE_ERROR: 1}
    assert answer.entries is not None
    services = ctx.services
    now = services.clock()
    snap = snapshot(answer.entries)
    runs = [_tick(run, elapsed) for run in services.store.open_runs()]
    subscribed = {sub.channel_id: sub for sub in services.store.subscriptions()}
    outcomes: Counter[Outcome] = Counter()
    if not snap.phase.running:
        for run in runs:
            heard = Hearing.of(subscribed.get(run.channel_id), now)
            outcomes[_finish(ctx, run, snap, now, heard)] += 1
        return dict(outcomes)
    key = _scan_key(snap, runs, now)
    for run in [run for run in runs if run.scan_key != key]:
        # Another scan runs now: the one this run followed ended unseen.
        heard = Hearing.of(subscribed.get(run.channel_id), now)
        ended = completed_after_empty(run.last_snapshot)
        outcomes[_finish(ctx, run, ended, now, heard)] += 1
    current = {run.channel_id: run for run in runs if run.scan_key == key}
    for subscription in subscribed.values():
        if subscription.channel_id not in current:
            outcomes[_open(ctx, key, subscription, snap, now)] += 1
    status_errors = _status_errors(ctx, list(current.values()), now)
    for run in current.values():
        heard = Hearing.of(subscribed.get(run.channel_id), now)
        outcomes[_advance(ctx, run, snap, now, status_errors, heard=heard)] += 1
    return dict(outcomes)


def unsubscribe(ctx: WatchContext, channel_id: str) -> bool:
    """Unsubscribe a channel; its open threads end with their parent's final state."""
    now = ctx.services.clock()

    def owes(run: RegularRun) -> list[Owed]:
        snap = run.last_snapshot or ProgressSnapshot(phase=Phase.IDLE)
        view = ParentView(_subject(run), WatchState.STOPPED, snap, now)
        return [owed.edit(regular_thread(run.id), run.channel_id, view, final=True)]

    removed = ctx.services.store.unsubscribe(channel_id, now=now, owe=owes)
    ctx.delivery.kick()
    return removed


def _tick(run: RegularRun, elapsed: float) -> RegularRun:
    return replace(run, follow=replace(run.follow, followed=run.follow.followed + elapsed))


def _subject(run: RegularRun) -> RegularScanFollow:
    return RegularScanFollow(run.id, run.channel_id, run.scan_key, since=run.created_at)


def _scan_key(snap: ProgressSnapshot, runs: list[RegularRun], now: datetime) -> str:
    """The scan's start time (epoch seconds), or the open runs' key, or when it was seen."""
    if snap.started_at is not None:
        return str(int(snap.started_at.timestamp()))
    if runs:
        return runs[0].scan_key
    return f"seen-{int(now.timestamp())}"


def _open(
    ctx: WatchContext, key: str, sub: Subscription, snap: ProgressSnapshot, now: datetime
) -> Outcome:
    channel_id = sub.channel_id

    def owes(run: RegularRun) -> list[Owed]:
        if sub.level is Level.QUIET:
            return []  # a quiet channel's parent is posted with its first alert or the end
        view = ParentView(_subject(run), run.state, snap, now)
        return [owed.parent(regular_thread(run.id), channel_id, view)]

    errors = (snap.error,) if snap.error else ()
    follow = sample(FollowState(errors_seen=errors), snap, now)
    _run, created = ctx.services.store.create_run(
        scan_key=key, channel_id=channel_id, snapshot=snap, follow=follow, now=now, owe=owes
    )
    if created:
        log.info("regular scan %s: following it in %s", key, channel_id)
    return Outcome.OPENED if created else Outcome.UNCHANGED


def _status_errors(ctx: WatchContext, runs: list[RegularRun], now: datetime) -> tuple[str, ...]:
    """The errors of ``GET /statuses/registry`` when it is time to ask, else ()."""
    checked = [run.follow.status_checked_at for run in runs]
    if not runs or any(at is not None and now - at < STATUS_EVERY for at in checked):
        return ()
    try:
        return ctx.services.console.registry_status().errors
    except ConsoleError as exc:
        log.info("registry status not available: %s", exc)
        return ()


def _advance(
    ctx: WatchContext,
    run: RegularRun,
    snap: ProgressSnapshot,
    now: datetime,
    status_errors: tuple[str, ...],
    *,
    heard: Hearing,
) -> Outcome:
    services = ctx.services
    previous = run.last_snapshot
    moved = snap.changed_from(previous)
    followed = run.follow.followed
    follow, change = stall.check(
        run.follow, moved=moved, followed=followed, after_seconds=stall.after_seconds(services)
    )
    follow = sample(follow, snap, now)
    if status_errors:
        follow = replace(follow, status_checked_at=now)
    thread, subject = regular_thread(run.id), _subject(run)
    new_errors = tuple(e for e in status_errors if e not in follow.errors_seen)
    step_error = (snap.error,) if snap.error and snap.error not in follow.errors_seen else ()
    follow = replace(follow, errors_seen=(*follow.errors_seen, *step_error, *new_errors))
    view = ParentView(
        subject, run.state, snap, now, estimate=estimate(follow, snap, now), stalled=follow.stalled
    )
    edits: list[Owed] = []
    if (moved or change is not stall.Change.NONE) and heard.level is not Level.QUIET:
        edits.append(owed.edit(thread, run.channel_id, view))
    replies: list[Owed] = []
    if not heard.snoozed:
        replies += stall.replies(
            services,
            change,
            thread_key=thread,
            channel_id=run.channel_id,
            subject=subject,
            snap=snap,
            before=run.follow,
            after=follow,
            followed=followed,
            mention=heard.mention,
        )
    posted = False
    reply = _progress_reply(ctx, run, previous, snap, now, heard=heard) if moved else None
    if reply is not None:
        replies.append(owed.reply(thread, run.channel_id, reply))
        posted = True
    if new_errors and not heard.snoozed:
        errors = RegistryErrors(subject, new_errors, mention=heard.mention)
        replies.append(owed.reply(thread, run.channel_id, errors))
    if replies and heard.level is Level.QUIET:
        replies.insert(0, owed.parent(thread, run.channel_id, view))  # once, by its key
    messages = edits + replies
    services.store.update_run(
        run.id,
        snapshot=snap,
        follow=follow,
        thread_posted_at=now if posted else None,
        now=now,
        owed=messages,
    )
    if change is stall.Change.STALLED:
        return Outcome.STALLED
    if replies:
        return Outcome.REPLIED
    return Outcome.UPDATED if messages else Outcome.UNCHANGED


def _progress_reply(
    ctx: WatchContext,
    run: RegularRun,
    previous: ProgressSnapshot | None,
    snap: ProgressSnapshot,
    now: datetime,
    *,
    heard: Hearing,
) -> PhaseChanged | Progressed | None:
    """What the thread is told of moving counts, at the channel's level.

    ``quiet``: only a new step error (not while snoozed); ``normal``: phase changes and
    errors, progress at most every ``SCANBOT_THREAD_UPDATE_SECONDS``; ``verbose``: every
    change of the counts.  A snoozed channel is not told a new error.
    """
    subject = _subject(run)
    new_error = bool(snap.error) and (previous is None or previous.error != snap.error)
    if heard.level is Level.QUIET:
        if new_error and not heard.snoozed:
            return PhaseChanged(subject, previous, snap)
        return None
    if heard.level is Level.VERBOSE and not turning_point(previous, snap):
        return Progressed(subject, previous, snap)
    if heard.snoozed and new_error and previous is not None and previous.phase == snap.phase:
        return None  # a snoozed channel is not told a new error
    last_reply_at = run.last_thread_post_at or run.created_at
    return thread_reply(ctx, subject, previous, snap, last_reply_at=last_reply_at, now=now)


def _finish(
    ctx: WatchContext, run: RegularRun, snap: ProgressSnapshot, now: datetime, heard: Hearing
) -> Outcome:
    final = snap if snap.phase.finished else completed_after_empty(run.last_snapshot)
    errors = run.follow.errors_seen
    if final.error and final.error not in errors:
        errors = (*errors, final.error)
    started = run.created_at
    if final.started_at is not None and final.started_at < started:
        started = final.started_at
    duration = max(now - started, timedelta(seconds=run.follow.followed), timedelta())
    subject = _subject(run)
    failed = bool(errors or final.error)
    mention = heard.mention if failed else ""
    event = RegularCompleted(subject, final, duration=duration, errors=errors, mention=mention)

    def owes(finished: RegularRun) -> list[Owed]:
        thread = regular_thread(finished.id)
        view = ParentView(subject, WatchState.COMPLETED, final, now)
        # A quiet channel's parent may not be posted yet: owed once by its key.
        parent = [owed.parent(thread, finished.channel_id, view)]
        return [
            *(parent if heard.level is Level.QUIET else []),
            owed.reply(thread, finished.channel_id, event, final=True),
            owed.edit(thread, finished.channel_id, view, final=True),
        ]

    done = ctx.services.store.finish_run(
        run.id, state=WatchState.COMPLETED, snapshot=final, now=now, owe=owes
    )
    if done:
        log.info("regular scan %s complete; told in %s", run.scan_key, run.channel_id)
    return Outcome.COMPLETED if done else Outcome.ENDED_MEANWHILE
