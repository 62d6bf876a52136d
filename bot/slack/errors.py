"""The app's one error handler: unexpected errors are logged once and the user is told."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, Respond

from bot.process.workqueue import WorkQueue
from bot.slack import blocks

log = logging.getLogger(__name__)


def register(app: App) -> None:
    @app.error
    def handle_error(error: Exception, body: dict[str, Any], respond: Respond | None) -> None:
        report_unexpected(error, respond if body.get("response_url") else None)


def report_unexpected(error: Exception, respond: Respond | None) -> None:
    """The one place an unexpected error in Slack work ends up: logged, and the user told.

    Used by bolt's error handler and by the work queue that runs listeners' work after
    their ack.  The user sees no internals; the log has the traceback.
    """
    log.error("unhandled error in a Slack listener", exc_info=error)
    if respond is None:
        return
    try:
        respond(
            **blocks.error_message(
                "Something went wrong inside scanbot.",
                "Try again in a minute; if it keeps failing, ask the scanbot operators "
                "(the details are in its log).",
            ).as_kwargs(),
            replace_original=False,
        )
    except OSError as exc:  # the response URL cannot be reached: the log already has it all
        log.warning("could not tell the user about the error: %s", exc)


def run_after_ack(work: WorkQueue, respond: Respond, task: Callable[[], None]) -> None:
    """Queue ``task`` (an interaction's work after its ack); say so when the queue is full.

    Errors in it go to :func:`report_unexpected`, like bolt's own error handler's.
    """
    reservation = work.reserve()
    if reservation is None:
        respond(**blocks.busy_message().as_kwargs(), replace_original=False)
        return
    reservation.submit(
        task,
        on_error=lambda error: report_unexpected(error, respond),
        on_dropped=lambda: tell_dropped(respond),
        on_interrupted=lambda: tell_interrupted(respond),
    )


def tell_interrupted(respond: Respond) -> None:
    """Tell the user the bot stopped while working on their request (it may be unfinished)."""
    respond(**blocks.interrupted_at_restart().as_kwargs(), replace_original=False)


def tell_dropped(respond: Respond) -> None:
    """Tell the user their request was accepted but never worked on: the bot stopped."""
    respond(**blocks.dropped_at_restart().as_kwargs(), replace_original=False)
