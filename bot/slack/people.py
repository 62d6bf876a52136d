"""Who a Slack user is, as far as the permission model needs: has the user left?"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.permissions import Permissions, may_stop_watch
from bot.domain.watch import Watch

log = logging.getLogger(__name__)


def has_left(client: WebClient, user_id: str) -> bool:
    """True when Slack says ``user_id`` was deactivated (``users.info`` ``deleted``) or
    does not know the user; False when the user is there or Slack cannot tell now."""
    if not user_id:
        return False
    try:
        answer = client.users_info(user=user_id)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        if error == "user_not_found":
            return True
        log.warning("users.info for %s failed (%s): the user is taken as present", user_id, error)
        return False
    user = answer.get("user") or {}
    return bool(user.get("deleted"))


def may_stop(rules: Permissions, client: WebClient, watch: Watch, *, user_id: str) -> bool:
    """The stop rule for ``watch``; Slack is asked about its starter only when it matters."""
    if may_stop_watch(rules, user_id=user_id, started_by=watch.requester_id):
        return True
    return may_stop_watch(
        rules,
        user_id=user_id,
        started_by=watch.requester_id,
        starter_gone=has_left(client, watch.requester_id),
    )
