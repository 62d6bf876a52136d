"""Builders for replies to ``/scanprogress``: regular scan, help, acknowledgements, errors."""

from __future__ import annotations

from datetime import datetime

from bot.domain.console_types import ScanResult
from bot.domain.images import ScanTarget
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.text import ELLIPSIS, plural
from bot.domain.watch import Watch
from bot.slack.blocks_kit import (
    ARROW,
    DASH,
    DOT,
    SHOWN_ERROR_CHARS,
    SHOWN_IMAGE_CHARS,
    Block,
    context,
    error_block,
    header,
    image_code,
    image_plain,
    message,
    result_blocks,
    section,
    step_block,
)
from bot.slack.blocks_subscriptions import scan_now_button
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import (
    channel_mention,
    code,
    escape_truncated,
    slack_date,
    user_mention,
)

_CONSOLE_PATH = f"Monitor {ARROW} Vulnerabilities {ARROW} Images {ARROW} Registries"
BULLET = "\u2022"
_SCAN_API = "`POST /api/v&lt;version&gt;/registry/scan`"


def regular_scan(snap: ProgressSnapshot, *, now: datetime) -> SlackMessage:
    """``/scanprogress`` without an image: the regular registry scan's progress."""
    checked = context(
        f"Checked {slack_date(now)} {DOT} follow one image with `/scanprogress alpine:3.16`"
    )
    steps = [
        step_block(f"Step 1/2 {DOT} Discovery", snap.discovery, "repositories"),
        step_block(f"Step 2/2 {DOT} Image scan", snap.image_scan, "images"),
    ]
    if snap.phase.running:
        status = escape_truncated(snap.summary, SHOWN_ERROR_CHARS)
        lead = f"*Status:* :hourglass_flowing_sand: {status}"
        if snap.entries > 1:
            lead += f"\nAggregated from {plural(snap.entries, 'progress report')}"
        blocks: list[Block] = [header("Regular registry scan"), section(lead), *steps]
        if snap.error:
            blocks.append(error_block(snap.error))
        blocks.append(checked)
        return message(f"Regular registry scan: {status}", blocks)
    idle = "No regular registry scan is running"
    if snap.phase is Phase.IDLE:
        return message(idle, [section(f":zzz: {idle}."), checked])
    if snap.phase is Phase.FAILED:
        last = "The last scan reported an error."
        blocks = [section(f":zzz: {idle}. {last}"), *steps, error_block(snap.error), checked]
        error = escape_truncated(snap.error, SHOWN_ERROR_CHARS)
        return message(f"{idle}. The last scan reported an error: {error}", blocks)
    images = snap.image_scan
    if images.total:
        last = f"The last scan finished: {images.scanned_text()}"
    else:
        last = "The last scan found no images to scan"
    return message(f"{idle}. {last}", [section(f":zzz: {idle}. {last}."), *steps, checked])


def no_scan_in_progress(target: ScanTarget, *, can_scan: bool = False) -> SlackMessage:
    """Ephemeral: nothing to follow for ``target``, and how to start its on-demand scan.

    ``can_scan``: the user may start scans from Slack, so a **Scan now** button is offered.
    """
    command = code("/scanprogress " + target.display()[:SHOWN_IMAGE_CHARS])
    console = (
        f"in the Prisma Cloud console ({_CONSOLE_PATH}, then *Scan*), "
        f"then {command} follows it here."
    )
    start = f"*Scan now* starts one and follows it; or start one {console}"
    text = f":information_source: No on-demand scan of {image_code(target)} is in progress. " + (
        start if can_scan else f"Start one {console}"
    )
    blocks = [section(text)]
    if can_scan:
        blocks.append(scan_now_button(target))
    fallback = f"No on-demand scan of {image_plain(target)} is in progress."
    return message(fallback, blocks)


def scan_just_finished(
    target: ScanTarget, snap: ProgressSnapshot, *, result: ScanResult | None
) -> SlackMessage:
    """Ephemeral: the scan of ``target`` finished just now, so there is nothing to follow.

    The console reports a finished on-demand scan once; this tells the user its outcome.
    """
    images = snap.image_scan
    scanned = f" {images.scanned_text()}." if images.total else ""
    if snap.phase is Phase.FAILED:
        error = escape_truncated(snap.error, SHOWN_ERROR_CHARS) or "no details given"
        text = f":x: The scan of {image_code(target)} finished with an error: {error}.{scanned}"
        fallback = f"The scan of {image_plain(target)} finished with an error: {error}"
        return message(fallback, [section(text)])
    text = f":white_check_mark: The scan of {image_code(target)} is complete.{scanned}"
    blocks = [section(text)]
    if result is not None:
        blocks.extend(result_blocks(result))
    return message(f"The scan of {image_plain(target)} is complete.{scanned}", blocks)


def follow_ack(target: ScanTarget, *, starting: bool = False) -> SlackMessage:
    """The ack of a follow (or of a scan started from Slack), sent before any I/O.

    It promises nothing: the outcome replaces it once known.  If the process dies before
    that, the user at least saw what was asked.
    """
    doing = "Starting a scan of" if starting else "Looking up"
    return message(
        f"{doing} {image_plain(target)}{ELLIPSIS}",
        [section(f":eyes: {doing} {image_code(target)}{ELLIPSIS}")],
    )


def following(target: ScanTarget, channel_id: str) -> SlackMessage:
    """Replaces the ack once the image is followed: where its progress is."""
    text = (
        f":white_check_mark: Following {image_code(target)}: its progress is in the "
        f"message just posted in {channel_mention(channel_id)}."
    )
    return message(f"Following {image_plain(target)}", [section(text)])


def already_watching(watch: Watch) -> SlackMessage:
    """Ephemeral: this channel already follows that image."""
    image = image_code(watch.target)
    stop_command = "/scanprogress stop " + watch.target.display()[:SHOWN_IMAGE_CHARS]
    text = (
        f"This channel is already following {image} (requested by "
        f"{user_mention(watch.requester_id)} on {slack_date(watch.created_at)}). "
        "Updates appear in the thread of its progress message; "
        f"{code(stop_command)} stops following."
    )
    plain = image_plain(watch.target)
    return message(f"This channel is already following {plain}", [section(text)])


def help_text(command: str = "/scanprogress") -> SlackMessage:
    """How to use the command, with examples of every accepted form."""
    name = command[:40]
    cmd = escape_truncated(name, 40)

    def example(args: str, what: str = "") -> str:
        return f"{BULLET} {code(f'{name} {args}')}" + (f" {DASH} {what}" if what else "")

    follow = "\n".join(
        [
            "*Follow an image's on-demand scan* until it completes (updates in a thread):",
            example("alpine 3.16"),
            example("alpine:3.16"),
            example("registry.example.com:5000/team/app:1.2", "a registry other than Docker Hub"),
            example("alpine@sha256:\u2026", "by digest"),
            example("repo=team/app tag=1.2 registry=registry.example.com:5000", "by fields"),
        ]
    )
    manage = "\n".join(
        [
            "*Other commands:*",
            f"{BULLET} {code(name)} {DASH} progress of the regular (scheduled) registry scan",
            example("list", "scans followed in this channel"),
            example("scan alpine:3.16", "start an image's scan and follow it"),
            example("subscribe", "tell this channel about every regular registry scan"),
            example(
                "subscribe quiet mention=@oncall",
                "only the end, stalls and errors; ping @oncall when action is needed "
                "(levels: quiet, normal, verbose; subscribing again changes them)",
            ),
            example("unsubscribe", "stop that"),
            example("unsnooze", "end a snooze set with the Snooze buttons of an alert"),
            example("subscriptions", "channels told about regular scans, their levels"),
            example("stop alpine:3.16", "stop following (the scan itself keeps running)"),
            example("status", "is scanning healthy? (only you see the answer)"),
            example("help", "this message"),
        ]
    )
    note = (
        "The scan must be running already: start it in the Prisma Cloud console "
        f"({_CONSOLE_PATH} {ARROW} *Scan*) or with {_SCAN_API}."
    )
    blocks = [header("How to use scanbot"), section(follow), section(manage), context(note)]
    return message(f"{cmd} help: follow a registry scan, e.g. {cmd} alpine:3.16", blocks)


def error_message(summary: str, hint: str) -> SlackMessage:
    """Ephemeral failure: what is wrong (``summary``) and what to do (``hint``)."""
    what = escape_truncated(summary, 500) or "Something went wrong"
    todo = escape_truncated(hint, 2000)
    text = f":warning: *{what}*" + (f"\n{todo}" if todo else "")
    return message(f"{what} {DASH} {todo}" if todo else what, [section(text)])


def not_in_channel(channel_id: str) -> SlackMessage:
    """How to invite the bot into a channel it cannot post in."""
    channel = channel_mention(channel_id)
    text = (
        f":wave: I can't post in {channel} because I'm not a member of it. "
        "Invite me by typing `/invite @scanbot` in that channel, then run the command again."
    )
    fallback = f"I can't post in {channel}: invite me with /invite @scanbot, then try again"
    return message(fallback, [section(text)])


def busy_message() -> SlackMessage:
    """Ephemeral, in the ack: the bot's work queue is full."""
    return error_message(
        "scanbot is busy right now and could not take this request.",
        "Try again in a moment.",
    )


def dropped_at_restart() -> SlackMessage:
    """Ephemeral: the bot stopped before the work after this request's ack began."""
    return error_message(
        "scanbot restarted before it could answer this request.",
        "Nothing was followed or started. Run the command again in a minute.",
    )


def interrupted_at_restart() -> SlackMessage:
    """Ephemeral: the bot stopped while it was working on this request."""
    return error_message(
        "scanbot restarted while it was answering this request.",
        "It may be done or not: `/scanprogress list` shows what this channel follows. "
        "Run the command again in a minute if it is missing.",
    )


def storage_unavailable() -> SlackMessage:
    """Ephemeral: the database cannot be written, so nothing new can be followed."""
    return error_message(
        "scanbot cannot store watches right now (its database is unavailable).",
        "Scans already followed continue once it is back; try again in a few minutes, "
        "and tell the scanbot operators if it lasts.",
    )
