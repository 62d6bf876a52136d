"""Start a scan from Slack, then follow it exactly like ``/scanprogress <image>``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.images import ScanTarget
from bot.domain.permissions import may_start_scans
from bot.domain.progress import snapshot
from bot.watcher import lifecycle
from bot.watcher.lifecycle import FollowResult, WatchContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refused:
    """The user may not start scans here (see :mod:`bot.domain.permissions`); nothing was sent."""


def start_and_follow(
    ctx: WatchContext, target: ScanTarget, *, channel_id: str, user_id: str
) -> Refused | FollowResult:
    """Check who asks, start the image's scan unless one runs already, and follow it.

    Raises :class:`~bot.console.errors.ConsoleError` when the console cannot answer.
    """
    services = ctx.services
    if not may_start_scans(services.settings.permissions, user_id=user_id, channel_id=channel_id):
        log.info("scan of %s refused to %s in %s (not allowed)", target.key, user_id, channel_id)
        return Refused()
    existing = services.store.find_open(channel_id=channel_id, target_key=target.key)
    if existing is not None:
        return lifecycle.AlreadyFollowing(existing)
    running = snapshot(services.console.progress(target)).phase.running
    if running:
        log.info("scan of %s already running; %s follows it in %s", target.key, user_id, channel_id)
    else:
        services.console.trigger_scan(target)
        log.info("scan of %s started by %s in %s", target.key, user_id, channel_id)
    return lifecycle.follow(ctx, target, channel_id=channel_id, user_id=user_id)
