"""Interactive components: the "Stop watching" button on a parent message."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.process.workqueue import WorkQueue
from bot.slack import blocks
from bot.slack.errors import run_after_ack
from bot.slack.people import may_stop
from bot.watcher import lifecycle
from bot.watcher.lifecycle import WatchContext

log = logging.getLogger(__name__)


def register(app: App, ctx: WatchContext, work: WorkQueue) -> None:
    @app.action(blocks.STOP_WATCH_ACTION)
    def stop_watch(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        run_after_ack(
            work, respond, lambda: handle_stop_button(ctx, app.client, body, action, respond)
        )


def handle_stop_button(
    ctx: WatchContext,
    client: WebClient,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
) -> None:
    user_id = str((body.get("user") or {}).get("id") or "")
    channel_id = str((body.get("channel") or {}).get("id") or "")
    value = str(action.get("value") or "")
    watch = ctx.services.store.get(int(value)) if value.isdigit() and len(value) < 19 else None
    if watch is None or watch.channel_id != channel_id:
        respond(
            **blocks.error_message(
                "That watch does not exist in this channel.",
                "Type `/scanprogress list` to see them.",
            ).as_kwargs(),
            replace_original=False,
        )
        return
    if not may_stop(ctx.services.settings.permissions, client, watch, user_id=user_id):
        respond(**blocks.stop_refused(watch.requester_id).as_kwargs(), replace_original=False)
        return
    if not lifecycle.stop(ctx, watch, by_user=user_id):
        respond(text="That scan is no longer being followed.", replace_original=False)


def register_fallback(app: App) -> None:
    """Last of all: a click on a button scanbot does not know (an old message, a forged
    payload) is acknowledged and ignored, instead of bolt's 404 and a warning per click."""

    @app.action(re.compile(r".*"))
    def unknown_action(ack: Ack, action: dict[str, Any]) -> None:
        ack()
        log.debug("ignored a click on an unknown action %r", str(action.get("action_id"))[:64])
