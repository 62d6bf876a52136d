"""Listeners grouped by Slack feature; each module has a small ``register(app, ctx)``."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, scan_button
from bot.watcher.lifecycle import WatchContext


def register_listeners(app: App, ctx: WatchContext) -> None:
    commands.register(app, ctx)
    actions.register(app, ctx)
    scan_button.register(app, ctx)
