"""Builders for a watch's messages: the parent, thread replies, the end, and the list.

:func:`thread_update` serves both subjects (a watch and a subscribed regular scan); the
dispatch on subject and event lives in :mod:`bot.slack.blocks_follow`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.console_types import ScanResult
from bot.domain.estimate import estimate_text
from bot.domain.events import ImageFollow, ParentView, RegularScanFollow, Subject
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.registries import registry_lines
from bot.domain.steps import Step
from bot.domain.text import plural
from bot.domain.watch import Watch, WatchState
from bot.slack.blocks_kit import (
    DASH,
    DOT,
    SHOWN_ERROR_CHARS,
    SHOWN_IMAGE_CHARS,
    Block,
    actions,
    button,
    console_button,
    context,
    error_block,
    header,
    human_duration,
    image_code,
    image_plain,
    message,
    relative,
    result_blocks,
    section,
    step_block,
)
from bot.slack.blocks_result import pending_note, result_notes
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import code, escape, escape_truncated, slack_date, user_mention

#: ``action_id`` of the "Stop watching" button; its ``value`` is the watch id.
STOP_WATCH_ACTION = "stop_watch"
#: How many watches :func:`watch_list` shows before saying "and N more".
WATCH_LIST_MAX = 45

#: (emoji, text) of a parent's status line per phase: the one wording of each phase.
PHASE_STATUS = {
    Phase.DISCOVERING: (":mag:", "Step 1/2: discovering tags"),
    Phase.SCANNING: (":hourglass_flowing_sand:", "Step 2/2: scanning images"),
    Phase.COMPLETE: (":white_check_mark:", "Scan complete"),
    Phase.FAILED: (":x:", "Scan finished with an error"),
    Phase.IDLE: (":hourglass:", "Waiting for the console to report the scan"),
}
_FINAL_STATUS = {
    WatchState.STOPPED: (":octagonal_sign:", "Stopped following this scan"),
    WatchState.EXPIRED: (":hourglass:", "Stopped following: the time limit was reached"),
    WatchState.FAILED: (":x:", "Could not follow this scan"),
}


def _status(view: ParentView) -> tuple[str, str]:
    """(emoji, text) of the parent's status line: the final state once following ended."""
    if view.state in _FINAL_STATUS:
        return _FINAL_STATUS[view.state]
    if view.state is WatchState.COMPLETED:
        failed = view.snap.phase is Phase.FAILED
        return PHASE_STATUS[Phase.FAILED if failed else Phase.COMPLETE]
    return PHASE_STATUS[view.snap.phase]


def watch_parent(view: ParentView) -> SlackMessage:
    """The parent message in the channel, edited in place as the scan progresses."""
    subject, snap = view.subject, view.snap
    if not isinstance(subject, ImageFollow):
        raise TypeError("watch_parent shows a watch; see blocks_follow.parent_message")
    emoji, status = _status(view)
    if view.stalled and view.state.is_open:
        status += " (stalled: the counts have not moved)"
    blocks: list[Block] = [
        header(f"Scan progress: {subject.target.display()}"),
        section(
            f"*Status:* {emoji} {status}\n"
            f"Requested by {user_mention(subject.requester_id)} {DOT} "
            f"following since {slack_date(subject.since)}"
        ),
        step_block(f"Step 1/2 {DOT} Discovery", snap.discovery, "repositories"),
        step_block(f"Step 2/2 {DOT} Image scan", snap.image_scan, "images"),
    ]
    if snap.error:
        blocks.append(error_block(snap.error))
    footer = [f"Updated {slack_date(view.now)} {DOT} watch #{subject.watch_id}"]
    if view.estimate is not None and view.state.is_open:
        footer.insert(0, estimate_text(view.estimate))
    blocks.append(context(f" {DOT} ".join(footer)))
    buttons = [console_button(view.console_link)] if view.console_link else []
    if view.state.is_open:
        stop = button("Stop watching", action_id=STOP_WATCH_ACTION, value=str(subject.watch_id))
        buttons.insert(0, stop)
    if buttons:
        blocks.append(actions(*buttons))
    shown = escape_truncated(snap.summary, SHOWN_ERROR_CHARS) if view.state.is_open else status
    return message(f"Scan progress: {image_plain(subject.target)} {DASH} {shown}", blocks)


def _phase_line(snap: ProgressSnapshot) -> tuple[str, str]:
    """(emoji, text) announcing the phase ``snap`` is in."""
    images = snap.image_scan
    if snap.phase is Phase.DISCOVERING:
        return ":mag:", "Scan running: discovering tags (step 1/2)"
    if snap.phase is Phase.SCANNING:
        count = plural(images.total, "image") if images.total else "images"
        return ":hourglass_flowing_sand:", f"Discovery finished, scanning {count}"
    if snap.phase is Phase.COMPLETE:
        return ":white_check_mark:", escape(snap.summary)
    if snap.phase is Phase.FAILED:
        return ":x:", "The scan finished with an error"
    return ":hourglass:", "The console no longer reports this scan"


def _count_line(snap: ProgressSnapshot) -> str | None:
    if snap.phase is Phase.DISCOVERING and snap.discovery.scanned:
        step = snap.discovery
        return f"Discovered {step.counts_text()}"
    if snap.phase is Phase.SCANNING and snap.image_scan.scanned:
        step = snap.image_scan
        return f"Scanned {step.counts_text('images')}"
    return None


def _counts(snap: ProgressSnapshot) -> tuple[int, ...]:
    return (*_step_counts(snap.discovery), *_step_counts(snap.image_scan))


def _step_counts(step: Step) -> tuple[int, int]:
    return step.total, step.scanned


def subject_name(subject: Subject) -> str:
    """What a thread is about, as escaped plain text."""
    if isinstance(subject, RegularScanFollow):
        return "Regular registry scan"
    return image_plain(subject.target)


def thread_update(
    subject: Subject, previous: ProgressSnapshot | None, snap: ProgressSnapshot
) -> SlackMessage:
    """A reply in the parent's thread saying what changed since ``previous``."""
    lines: list[tuple[str, str]] = []
    if previous is None or previous.phase != snap.phase:
        lines.append(_phase_line(snap))
        counts = _count_line(snap)
    else:
        counts = _count_line(snap) if _counts(previous) != _counts(snap) else None
    if counts:
        lines.append(("", counts))
    if snap.error and (previous is None or previous.error != snap.error):
        error = escape_truncated(snap.error, SHOWN_ERROR_CHARS)
        lines.append((":warning:", f"The console reports an error: {error}"))
    registries = registry_lines(snap)
    regular = isinstance(subject, RegularScanFollow)
    if regular and registries and (previous is None or registry_lines(previous) != registries):
        lines += [("", escape(line)) for line in registries]
    if not lines:
        lines.append(("", escape_truncated(snap.summary, SHOWN_ERROR_CHARS)))
    text = "\n".join(f"{emoji} {line}" if emoji else line for emoji, line in lines)
    fallback = "\n".join(line for _emoji, line in lines)
    return message(f"{subject_name(subject)}: {fallback}", [section(text)])


def scan_complete(
    subject: ImageFollow,
    snap: ProgressSnapshot,
    *,
    duration: timedelta,
    result: ScanResult | None,
    baseline: ScanResult | None = None,
    fresh: bool = True,
    console_link: str = "",
    result_wait: timedelta = timedelta(),
) -> SlackMessage:
    """The final reply: the scan completed (or failed), with the vulnerability summary.

    The result shows its own scan time and, when the image had a result before, the diff;
    a result older than this scan (``fresh`` False) is not shown: it is not available yet
    (and, with a ``result_wait``, added in the thread when it appears).
    """
    mention = user_mention(subject.requester_id)
    image, plain = image_code(subject.target), image_plain(subject.target)
    images = snap.image_scan
    scanned = images.scanned_text()
    took = human_duration(duration)
    if snap.phase is Phase.FAILED:
        error = escape_truncated(snap.error, SHOWN_ERROR_CHARS) or "no details given"
        lead = f":x: *Scan finished with an error* {DASH} {image}"
        body = f"{mention}, the scan ended after {took}: {error}"
        fallback = f"Scan of {plain} finished with an error ({mention}): {error}"
        return message(fallback, [section(f"{lead}\n{body}" + (f"\n{scanned}" if scanned else ""))])
    lead = f":white_check_mark: *Scan complete* {DASH} {image}"
    body = f"{mention}, the scan finished in {took}." + (f" {scanned}." if scanned else "")
    blocks = [section(f"{lead}\n{body}")]
    notes: list[str] = []
    if result is not None:
        blocks.extend(result_blocks(result))
        notes.extend(result_notes(result, baseline))
    elif result_wait > timedelta():
        notes.append(pending_note(plain, result_wait))
    elif not fresh:
        notes.append(
            "The result of this scan is not available yet: the console still shows an older "
            "one, which is not repeated here as new. "
            f"Run {_follow_command(subject)} later or look in the console."
        )
    else:
        notes.append("The console had no vulnerability summary for this image yet.")
    blocks.append(context(*notes))
    if console_link:
        blocks.append(actions(console_button(console_link)))
    fallback = f"Scan complete: {plain} ({mention}) in {took}"
    return message(fallback + (f", {scanned}" if scanned else ""), blocks)


def _follow_command(subject: ImageFollow) -> str:
    """``/scanprogress <image>`` as a code span (the image's real characters, copyable)."""
    return code("/scanprogress " + subject.target.display()[:SHOWN_IMAGE_CHARS])


def watch_expired(
    subject: ImageFollow, last: ProgressSnapshot | None, *, max_duration: timedelta
) -> SlackMessage:
    """A reply saying the bot gave up following after ``max_duration``."""
    plain = image_plain(subject.target)
    last_text = last.summary if last is not None else "no progress reported"
    text = (
        f":hourglass: Stopped following {image_code(subject.target)} after "
        f"{human_duration(max_duration)}: the scan had not finished.\n"
        f"Last known progress: {escape_truncated(last_text, SHOWN_ERROR_CHARS)}\n"
        f"{user_mention(subject.requester_id)}, run {_follow_command(subject)} to follow it "
        "again."
    )
    fallback = f"Stopped following {plain} after {human_duration(max_duration)}"
    return message(fallback, [section(text)])


def watch_stopped(subject: ImageFollow, *, by_user: str) -> SlackMessage:
    """A reply saying who stopped following; the scan itself keeps running."""
    who = user_mention(by_user)
    text = (
        f":octagonal_sign: {who} stopped following {image_code(subject.target)}. "
        "The scan itself keeps running in Prisma Cloud."
    )
    return message(f"{who} stopped following {image_plain(subject.target)}", [section(text)])


def _list_entry(watch: Watch, now: datetime) -> str:
    if watch.last_snapshot is not None:
        progress = escape_truncated(watch.last_snapshot.summary, 300)
    else:
        progress = "waiting for the first answer from the console"
    return (
        f"{image_code(watch.target)} {DASH} {progress}\n"
        f"Requested by {user_mention(watch.requester_id)} {DOT} since "
        f"{relative(watch.created_at, now)} ({slack_date(watch.created_at)})"
    )


def watch_list(watches: list[Watch], *, now: datetime) -> SlackMessage:
    """The scans followed in a channel (``/scanprogress list``), at most 45 listed."""
    if not watches:
        text = (
            "No scans are being followed in this channel. Start with `/scanprogress &lt;image&gt;`."
        )
        return message("No scans are being followed in this channel", [section(text)])
    shown = watches[:WATCH_LIST_MAX]
    blocks: list[Block] = [header(f"Scans followed in this channel ({len(watches)})")]
    blocks.extend(section(_list_entry(watch, now)) for watch in shown)
    footer = ["Stop one with `/scanprogress stop &lt;image&gt;`"]
    if len(watches) > len(shown):
        footer.insert(0, f"{DASH} and {len(watches) - len(shown)} more not shown")
    blocks.append(context(*footer))
    names = ", ".join(image_plain(watch.target) for watch in shown[:10])
    more = ", \u2026" if len(watches) > 10 else ""
    return message(
        f"{plural(len(watches), 'scan')} followed in this channel: {names}{more}", blocks
    )
