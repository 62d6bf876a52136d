"""The on-call digest message (pure): completed scans, failures and stalls, the regular
scan's health, what is still running.  Times are shown in the digest's time zone, named."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.text import plural
from bot.domain.watch import Watch
from bot.slack.blocks_kit import (
    DOT,
    SHOWN_ERROR_CHARS,
    Block,
    context,
    header,
    human_duration,
    image_code,
    message,
    section,
)
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import channel_mention, escape_truncated
from bot.watcher.digest import Digest

SHOWN_PER_LIST = 10
BULLET = "\u2022"


def digest_message(digest: Digest) -> SlackMessage:
    zone = ZoneInfo(digest.timezone)
    span = f"{_when(digest.since, zone)} {DOT} {_when(digest.now, zone)} ({digest.timezone})"
    counts = (
        f"{plural(len(digest.completed), 'scan')} completed, "
        f"{len(digest.failed)} failed, {len(digest.stalled)} stalled, "
        f"{len(digest.running)} still running"
    )
    blocks: list[Block] = [
        header("Scan digest"),
        context(f"Since the last digest: {span}"),
        section(f"*Summary:* {counts}"),
    ]
    blocks.append(section(_list("Completed", digest.completed, _completed_line)))
    if digest.failed or digest.stalled:
        blocks.append(section(_list("Failed", digest.failed, _failed_line)))
        blocks.append(section(_list("Stalled (stopped following)", digest.stalled, _stall_line)))
    blocks.append(section(_regular(digest, zone)))
    blocks.append(section(_list("Still running", digest.running, _running_line(digest.now))))
    if digest.stopped:
        blocks.append(context(f"{plural(digest.stopped, 'watch')} stopped by hand"))
    text = f"Scan digest ({digest.timezone}): {counts}"
    return message(text, blocks)


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M")


def _list(title: str, watches: Sequence[Watch], line: Callable[[Watch], str]) -> str:
    if not watches:
        return f"*{title}:* none"
    shown = [f"{BULLET} {line(watch)}" for watch in watches[:SHOWN_PER_LIST]]
    if len(watches) > SHOWN_PER_LIST:
        shown.append(f"{BULLET} and {len(watches) - SHOWN_PER_LIST} more")
    return f"*{title}:*\n" + "\n".join(shown)


def _where(watch: Watch) -> str:
    return f"{image_code(watch.target)} in {channel_mention(watch.channel_id)}"


def _completed_line(watch: Watch) -> str:
    summary = watch.last_snapshot.summary if watch.last_snapshot is not None else "completed"
    return f"{_where(watch)}: {escape_truncated(summary, 200)}"


def _failed_line(watch: Watch) -> str:
    snap = watch.last_snapshot
    if snap is not None and snap.error:
        return f"{_where(watch)}: {escape_truncated(snap.error, 300)}"
    return f"{_where(watch)}: could not be posted (is the bot in the channel?)"


def _stall_line(watch: Watch) -> str:
    summary = watch.last_snapshot.summary if watch.last_snapshot is not None else "no progress"
    return f"{_where(watch)}: still unfinished ({escape_truncated(summary, 200)})"


def _running_line(now: datetime) -> Callable[[Watch], str]:
    def line(watch: Watch) -> str:
        summary = watch.last_snapshot.summary if watch.last_snapshot is not None else "starting"
        running = human_duration(now - watch.created_at)
        return f"{_where(watch)}: {escape_truncated(summary, 200)}, followed for {running}"

    return line


def _regular(digest: Digest, zone: ZoneInfo) -> str:
    status = digest.registry
    if status is None:
        reason = escape_truncated(digest.registry_error or "unknown", SHOWN_ERROR_CHARS)
        return f"*Regular scan:* :grey_question: unknown ({reason})"
    state = {True: "running now", False: "idle", None: "state unknown"}[status.scanning]
    if status.completed_at is None:
        last = "no completed regular scan"
    else:
        ago = human_duration(digest.now - status.completed_at)
        last = f"last completed {_when(status.completed_at, zone)} ({ago} ago)"
    errors = [error for error in status.errors if error]
    icon = ":warning:" if errors or status.completed_at is None else ":white_check_mark:"
    text = f"*Regular scan:* {icon} {state}, {last}"
    if errors:
        shown = "; ".join(errors[:3])
        text += f"\n{plural(len(errors), 'error')}: {escape_truncated(shown, SHOWN_ERROR_CHARS)}"
    return text
