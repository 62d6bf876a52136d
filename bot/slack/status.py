"""``/scanprogress status`` after the ack: gather the checks, answer only the one who asked."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_bolt import Respond

from bot.ops.report import CheckReport
from bot.ops.status import gather_status
from bot.slack import blocks
from bot.slack.blocks_status import status_message
from bot.watcher.lifecycle import WatchContext

log = logging.getLogger(__name__)


def show_status(ctx: WatchContext, *, channel_id: str, respond: Respond, user_id: str = "") -> None:
    """Admins see every check's details; others whether scanning works and their channel."""
    services = ctx.services
    report = status_report(ctx)
    now = services.clock()
    log.info("status asked in %s: %s", channel_id, report.summary())
    if services.settings.permissions.is_admin(user_id):
        respond(**status_message(report, now=now).as_kwargs(), response_type="ephemeral")
        return
    subscribed = any(s.channel_id == channel_id for s in services.store.subscriptions())
    answer = blocks.member_status(
        report,
        channel_id=channel_id,
        channel_watches=len(services.store.list_open(channel_id=channel_id)),
        subscribed=subscribed,
        now=now,
    )
    respond(**answer.as_kwargs(), response_type="ephemeral")


def status_report(ctx: WatchContext) -> CheckReport:
    """The checks of ``/scanprogress status`` (and of the Home tab's health summary)."""
    services = ctx.services
    health = services.health
    return gather_status(
        services.console,
        now=services.clock(),
        open_watches=len(services.store.list_open()),
        subscriptions=len(services.store.subscriptions()),
        health=health.state() if health is not None else None,
        stale_after=health.stale_after if health is not None else timedelta(minutes=5),
    )
