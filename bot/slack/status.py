"""``/scanprogress status`` after the ack: gather the checks, answer only the one who asked."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_bolt import Respond

from bot.ops.report import CheckReport
from bot.ops.status import StatusConsole, gather_status
from bot.slack import blocks
from bot.slack.blocks_status import status_message
from bot.watcher.lifecycle import WatchContext

log = logging.getLogger(__name__)


def show_status(ctx: WatchContext, *, channel_id: str, respond: Respond) -> None:
    report = status_report(ctx)
    if report is None:
        respond(
            **blocks.error_message(
                "This scanbot cannot check the console.", "Run `scanbot check` on its host."
            ).as_kwargs(),
            response_type="ephemeral",
        )
        return
    log.info("status asked in %s: %s", channel_id, report.summary())
    now = ctx.services.clock()
    respond(**status_message(report, now=now).as_kwargs(), response_type="ephemeral")


def status_report(ctx: WatchContext) -> CheckReport | None:
    """The checks of ``/scanprogress status`` (None when the console cannot be checked)."""
    services = ctx.services
    console = services.console
    if not isinstance(console, StatusConsole):
        return None
    list_subscriptions = getattr(services.store, "list_subscriptions", None)
    subscriptions = len(list_subscriptions()) if callable(list_subscriptions) else None
    health = services.health
    now = services.clock()
    return gather_status(
        console,
        now=now,
        open_watches=len(services.store.list_open()),
        subscriptions=subscriptions,
        health=health.state() if health is not None else None,
        stale_after=health.stale_after if health is not None else timedelta(minutes=5),
    )
