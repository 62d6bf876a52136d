"""Builders for followed scans beyond a watch's own: the parent and thread messages of a
subscribed regular scan, stall alerts, and the dispatch on subject and event."""

from __future__ import annotations

from datetime import timedelta
from typing import assert_never

from bot.domain.estimate import estimate_text
from bot.domain.events import (
    Completed,
    Event,
    Expired,
    Failed,
    ImageFollow,
    ParentView,
    PhaseChanged,
    Progressed,
    RegistryErrors,
    RegularCompleted,
    RegularOverdue,
    RegularScanFollow,
    ResultArrived,
    ResultMissing,
    Resumed,
    Stalled,
    Stopped,
)
from bot.domain.progress import Phase
from bot.domain.registries import registry_lines
from bot.domain.text import plural
from bot.domain.watch import WatchState
from bot.slack.blocks_deadman import regular_overdue
from bot.slack.blocks_kit import (
    DASH,
    DOT,
    SHOWN_ERROR_CHARS,
    Block,
    context,
    error_block,
    header,
    human_duration,
    message,
    section,
    step_block,
)
from bot.slack.blocks_result import result_arrived, result_missing
from bot.slack.blocks_subscriptions import snooze_buttons
from bot.slack.blocks_watch import (
    PHASE_STATUS,
    scan_complete,
    subject_name,
    thread_update,
    watch_expired,
    watch_parent,
    watch_stopped,
)
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import alert_mention, escape, escape_truncated, slack_date, user_mention

#: Errors listed in one message before "and N more".
ERRORS_SHOWN = 10


def parent_message(view: ParentView) -> SlackMessage:
    """The parent message of a thread, whatever it follows."""
    match view.subject:
        case ImageFollow():
            return watch_parent(view)
        case RegularScanFollow():
            return regular_parent(view)
        case RegularOverdue():
            return regular_overdue(view)
        case _:
            assert_never(view.subject)


def thread_message(event: Event) -> SlackMessage:
    """The reply in a parent's thread that tells ``event``."""
    match event:
        case Progressed() | PhaseChanged():
            return thread_update(event.subject, event.previous, event.snap)
        case Completed():
            return scan_complete(
                event.subject,
                event.snap,
                duration=event.duration,
                result=event.result,
                baseline=event.baseline,
                fresh=event.fresh,
                console_link=event.console_link,
                result_wait=event.result_wait,
            )
        case ResultArrived():
            return result_arrived(event)
        case ResultMissing():
            return result_missing(event)
        case Failed():
            return scan_complete(
                event.subject, event.snap, duration=event.duration, result=event.result
            )
        case Expired():
            return watch_expired(event.subject, event.last, max_duration=event.max_duration)
        case Stopped():
            return watch_stopped(event.subject, by_user=event.by_user)
        case Stalled():
            return stalled(event)
        case Resumed():
            return resumed(event)
        case RegistryErrors():
            return registry_errors(event)
        case RegularCompleted():
            return regular_complete(event)
        case _:
            assert_never(event)


#: A regular scan discovers repositories too, and ends "with errors" rather than failing.
_REGULAR_STATUS = {
    **PHASE_STATUS,
    Phase.DISCOVERING: (":mag:", "Step 1/2: discovering repositories and tags"),
    Phase.FAILED: (":x:", "Scan complete with errors"),
}


def regular_parent(view: ParentView) -> SlackMessage:
    """A subscribed channel's parent message about one regular scan, edited in place."""
    subject, snap = view.subject, view.snap
    assert isinstance(subject, RegularScanFollow)
    if view.state is WatchState.STOPPED:
        emoji, status = ":octagonal_sign:", "No longer followed: this channel unsubscribed"
    elif view.state is WatchState.COMPLETED:
        emoji, status = _REGULAR_STATUS[Phase.FAILED if snap.error else Phase.COMPLETE]
    else:
        emoji, status = _REGULAR_STATUS[snap.phase]
        if view.stalled:
            status += " (stalled: the counts have not moved)"
    lines = [f"*Status:* {emoji} {status}", f"Started {slack_date(subject.since)}"]
    running = registry_lines(snap) if view.state.is_open else []
    if running:
        lines.append("\n".join(escape(line) for line in running))
    blocks: list[Block] = [
        header("Regular registry scan"),
        section("\n".join(lines)),
        step_block(f"Step 1/2 {DOT} Discovery", snap.discovery, "repositories"),
        step_block(f"Step 2/2 {DOT} Image scan", snap.image_scan, "images"),
    ]
    if snap.error:
        blocks.append(error_block(snap.error))
    footer = [f"Updated {slack_date(view.now)}", "subscribed channel"]
    if view.estimate is not None and view.state.is_open:
        footer.insert(0, estimate_text(view.estimate))
    blocks.append(context(f" {DOT} ".join(footer)))
    shown = escape_truncated(snap.summary, SHOWN_ERROR_CHARS) if view.state.is_open else status
    return message(f"Regular registry scan {DASH} {shown}", blocks)


def regular_complete(event: RegularCompleted) -> SlackMessage:
    """The end of a regular scan: totals, duration and the errors seen."""
    snap = event.snap
    took = human_duration(event.duration)
    repositories = plural(snap.discovery.total, "repository", "repositories")
    totals = (
        f"{repositories} discovered {DOT} {plural(snap.image_scan.total, 'tag')} found {DOT} "
        f"{plural(snap.image_scan.scanned, 'image')} scanned"
    )
    failed = bool(event.errors or snap.error)
    if event.errors:
        lead = f":warning: *Regular registry scan complete with errors* {DASH} took {took}"
    else:
        lead = f":white_check_mark: *Regular registry scan complete* {DASH} took {took}"
    who = alert_mention(event.mention) if failed else ""
    needs_look = f"\n{who}: this scan needs a look." if who else ""
    blocks = [section(f"{lead}\n{totals}{needs_look}")]
    blocks.append(_errors_block(event.errors) if event.errors else context("No errors seen."))
    if failed:
        blocks.append(snooze_buttons(event.subject.channel_id))
    fallback = f"Regular registry scan complete in {took}: {totals}"
    if event.errors:
        fallback += f", {plural(len(event.errors), 'error')}"
    return message(fallback, blocks)


def registry_errors(event: RegistryErrors) -> SlackMessage:
    """New errors of the console's registry scan status."""
    count = plural(len(event.errors), "new error")
    who = alert_mention(event.mention)
    lead = f":warning: {who + ', t' if who else 'T'}he console's registry scan status reports"
    return message(
        f"Regular registry scan: the console reports {count}: {event.errors[0][:200]}",
        [
            section(f"{lead} {count}:"),
            _errors_block(event.errors),
            snooze_buttons(event.subject.channel_id),
        ],
    )


def _errors_block(errors: tuple[str, ...]) -> Block:
    shown = [f"\u2022 {escape_truncated(e, 300)}" for e in errors[:ERRORS_SHOWN]]
    if len(errors) > ERRORS_SHOWN:
        shown.append(f"{DASH} and {len(errors) - ERRORS_SHOWN} more")
    return section("*Errors seen:*\n" + "\n".join(shown))


def _who(event: Stalled | Resumed) -> str:
    subject = event.subject
    if isinstance(subject, ImageFollow):
        return f"{user_mention(subject.requester_id)}, "
    who = alert_mention(event.mention) if isinstance(event, Stalled) else ""
    return f"{who}, " if who else ""


def stalled(event: Stalled) -> SlackMessage:
    """Told once per stall: the counts have not moved, and the likely cause."""
    name = subject_name(event.subject)
    took = human_duration(event.stalled_for)
    text = (
        f":warning: {_who(event)}the scan of *{name}* looks stalled: its counts have not "
        f"moved for {took} ({escape(event.snap.summary)})."
    )
    if event.cause:
        text += f"\nLikely cause: {escape_truncated(event.cause, SHOWN_ERROR_CHARS)}"
    else:
        text += "\nThe console reports no error; check its Defenders and registry settings."
    blocks: list[Block] = [section(text)]
    if isinstance(event.subject, RegularScanFollow):
        blocks.append(snooze_buttons(event.subject.channel_id))
    return message(f"{name}: scan stalled for {took}", blocks)


def resumed(event: Resumed) -> SlackMessage:
    """Told once when a stalled scan moves again."""
    name = subject_name(event.subject)
    took = human_duration(max(event.stalled_for, timedelta()))
    text = (
        f":arrow_forward: {_who(event)}the scan of *{name}* moves again after {took}: "
        f"{escape(event.snap.summary)}"
    )
    return message(f"{name}: moving again after {took}", [section(text)])
