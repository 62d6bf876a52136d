"""The **Scan now** button of the "no scan in progress" answer: the permission is checked
again here (the button may be clicked by anyone who sees it), then the scan starts and is
followed exactly as with ``/scanprogress scan <image>``.  Every answer replaces the message
that held the button, so the button is gone once clicked."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.console.errors import ConsoleError
from bot.domain.images import ImageReferenceError, ScanTarget, target_from_fields
from bot.process.workqueue import WorkQueue
from bot.slack import blocks
from bot.slack.blocks_kit import OPEN_CONSOLE_ACTION
from bot.slack.errors import run_after_ack
from bot.slack.listeners.commands import answer_start
from bot.slack.listeners.replace import ReplacingRespond
from bot.watcher.lifecycle import WatchContext
from bot.watcher.start import start_and_follow

_FIELDS = ("repo", "tag", "digest", "registry")


def register(app: App, ctx: WatchContext, work: WorkQueue) -> None:
    @app.action(blocks.SCAN_NOW_ACTION)
    def scan_now(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        run_after_ack(work, respond, lambda: handle_scan_now(ctx, body, action, respond))

    @app.action(OPEN_CONSOLE_ACTION)
    def open_console(ack: Ack) -> None:
        ack()  # a link button: Slack opens the page; nothing to do but acknowledge


def target_of(value: str) -> ScanTarget | None:
    """The image a button's value names (JSON fields), or None for anything else."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not set(data) <= set(_FIELDS):
        return None
    if not all(isinstance(v, str) and 0 < len(v) <= 500 for v in data.values()):
        return None
    try:
        return target_from_fields(data)  # the grammar of typed references, not just types
    except ImageReferenceError:
        return None


def handle_scan_now(
    ctx: WatchContext, body: dict[str, Any], action: dict[str, Any], respond: Respond
) -> None:
    user_id = str((body.get("user") or {}).get("id") or "")
    channel_id = str((body.get("channel") or {}).get("id") or "")
    target = target_of(str(action.get("value") or ""))
    respond = ReplacingRespond(respond)
    if target is None:
        respond(
            **blocks.error_message(
                "That button does not name an image.", "Type `/scanprogress scan <image>`."
            ).as_kwargs()
        )
        return
    respond(**blocks.follow_ack(target, starting=True).as_kwargs())
    try:
        result = start_and_follow(ctx, target, channel_id=channel_id, user_id=user_id)
    except ConsoleError as exc:
        respond(**blocks.error_message(str(exc), exc.hint).as_kwargs())
        return
    answer_start(result, target, channel_id, user_id, respond)
