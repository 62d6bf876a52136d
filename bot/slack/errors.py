"""The app's one error handler: unexpected errors are logged once and the user is told."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, Respond

from bot.slack import blocks

log = logging.getLogger(__name__)


def register(app: App) -> None:
    @app.error
    def handle_error(error: Exception, body: dict[str, Any], respond: Respond | None) -> None:
        log.error("unhandled error in a Slack listener", exc_info=error)
        if respond is not None and body.get("response_url"):
            respond(
                **blocks.error_message(
                    "Something went wrong inside scanbot.",
                    "Try again in a minute; if it keeps failing, ask the scanbot operators "
                    "(the details are in its log).",
                ).as_kwargs(),
                replace_original=False,
            )
