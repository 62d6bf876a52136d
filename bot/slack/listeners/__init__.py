"""Listeners grouped by Slack feature; each module has a small ``register(app, ctx)``."""

from __future__ import annotations

from slack_bolt import App

from bot.process.workqueue import WorkQueue
from bot.slack.listeners import actions, commands, home, scan_button, snooze
from bot.watcher.lifecycle import WatchContext


def register_listeners(app: App, ctx: WatchContext, work: WorkQueue) -> None:
    """Every listener: each acks at once and hands the rest to ``work``."""
    commands.register(app, ctx, work)
    actions.register(app, ctx, work)
    scan_button.register(app, ctx, work)
    snooze.register(app, ctx, work)
    home.register(app, ctx, work)
    actions.register_fallback(app)  # last: bolt runs the first listener that matches
