"""The **Snooze 1 h** / **Snooze 1 day** buttons on a subscription's stall and failure
messages, and the permission rule every change of a subscription goes through."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.domain.permissions import may_manage_subscriptions
from bot.process.workqueue import WorkQueue
from bot.slack import blocks
from bot.slack.errors import run_after_ack
from bot.slack.message import SlackMessage
from bot.watcher.lifecycle import WatchContext

#: How long each button snoozes.
SNOOZES = {
    blocks.SNOOZE_HOUR_ACTION: timedelta(hours=1),
    blocks.SNOOZE_DAY_ACTION: timedelta(days=1),
}


def register(app: App, ctx: WatchContext, work: WorkQueue) -> None:
    for action_id in SNOOZES:

        @app.action(action_id)
        def snooze(
            ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
        ) -> None:
            ack()
            run_after_ack(work, respond, lambda: handle_snooze(ctx, body, action, respond))


def refusal(ctx: WatchContext, *, channel_id: str, user_id: str) -> SlackMessage | None:
    """Why ``user_id`` may not change ``channel_id``'s subscription, or None when they may
    (``may_manage_subscriptions``: ``SCANBOT_ADMIN_USERS``; a subscription set by
    ``SCANBOT_NOTIFY_CHANNELS`` only by an admin)."""
    settings = ctx.services.settings
    current = ctx.services.store.subscription(channel_id)
    from_setting = channel_id in settings.scanbot_notify_channels or (
        current is not None and current.source == "setting"
    )
    rules = settings.permissions
    if may_manage_subscriptions(rules, user_id=user_id, from_setting=from_setting):
        return None
    return blocks.subscription_refused(
        user_id, from_setting=from_setting, admins_set=bool(rules.admin_users)
    )


def handle_snooze(
    ctx: WatchContext, body: dict[str, Any], action: dict[str, Any], respond: Respond
) -> None:
    user_id = str((body.get("user") or {}).get("id") or "")
    channel_id = str((body.get("channel") or {}).get("id") or "")
    length = SNOOZES.get(str(action.get("action_id") or ""))
    if length is None or str(action.get("value") or "") != channel_id:
        respond(
            **blocks.error_message(
                "That button does not belong to this channel's subscription.",
                "Type `/scanprogress subscriptions` to see it.",
            ).as_kwargs(),
            replace_original=False,
        )
        return
    refused = refusal(ctx, channel_id=channel_id, user_id=user_id)
    if refused is not None:
        respond(**refused.as_kwargs(), replace_original=False)
        return
    until = ctx.services.clock() + length
    if not ctx.services.store.snooze(channel_id, until=until, by_user=user_id):
        respond(**blocks.not_subscribed(channel_id, "snooze").as_kwargs(), replace_original=False)
        return
    told = blocks.snoozed(channel_id, until=until, by_user=user_id)
    respond(**told.as_kwargs(), response_type="in_channel", replace_original=False)
