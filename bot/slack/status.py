"""``/scanprogress status`` after the ack: gather the checks, answer only the one who asked."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_bolt import Respond

from bot.ops.status import gather_status
from bot.slack.blocks_status import status_message
from bot.watcher.lifecycle import WatchContext

log = logging.getLogger(__name__)


def show_status(ctx: WatchContext, *, channel_id: str, respond: Respond) -> None:
    services = ctx.services
    console = services.console
    health = services.health
    now = services.clock()
    report = gather_status(
        console,
        now=now,
        open_watches=len(services.store.list_open()),
        subscriptions=len(services.store.subscriptions()),
        health=health.state() if health is not None else None,
        stale_after=health.stale_after if health is not None else timedelta(minutes=5),
    )
    log.info("status asked in %s: %s", channel_id, report.summary())
    respond(**status_message(report, now=now).as_kwargs(), response_type="ephemeral")
