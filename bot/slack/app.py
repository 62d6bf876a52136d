"""The bolt ``App`` factory.  Nothing happens at import; everything is built here."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.config.settings import Settings, SettingsError
from bot.delivery.budget import SlackBudget
from bot.process.logcontext import request_fields
from bot.process.workqueue import WorkQueue
from bot.slack import errors
from bot.slack.listeners import register_listeners
from bot.slack.observed import (
    BudgetedWebClient,
    CountingRateLimitHandler,
    ObservedWebClient,
    SlackObserver,
    ack_timer,
)
from bot.watcher.lifecycle import WatchContext

#: The Slack types the process builder holds (re-exported so only bot.slack imports Slack).
__all__ = ["App", "WebClient", "build_app", "build_web_client"]


def build_web_client(
    settings: Settings,
    *,
    observer: SlackObserver | None = None,
    budget: SlackBudget | None = None,
) -> WebClient:
    """A WebClient on ``SLACK_API_URL`` that retries a 429 once, after its Retry-After.

    With a ``budget`` every call first waits for its place in it (Slack's rate limits kept
    by the bot itself, so a 429 is a safety net, not the pace).

    Only 429 is retried here (slack_sdk's own handler): Slack did not take the message,
    so sending it again is safe.  A 5xx or a connection reset may come *after* Slack took
    the message; those go back to the outbox's sender, which looks for the message before
    it sends it again (slack_sdk's retry handlers for them would post it twice).  With an
    ``observer`` (the metrics), every call and every 429 is reported to it.
    """
    settings.require_slack()
    assert settings.slack_bot_token is not None
    options: dict[str, Any] = {
        "token": settings.slack_bot_token.get_secret_value(),
        "base_url": settings.slack_api_url,
        "timeout": 10,
    }
    if observer is None:
        return BudgetedWebClient(
            **options,
            budget=budget,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
        )
    return ObservedWebClient(
        **options,
        budget=budget,
        retry_handlers=[CountingRateLimitHandler(observer, max_retry_count=1)],
        observer=observer,
    )


def build_app(
    ctx: WatchContext,
    client: WebClient,
    work: WorkQueue,
    *,
    token_verification: bool = True,
    observer: SlackObserver | None = None,
) -> App:
    """Build the bolt app with every listener and the one error handler registered.

    ``token_verification`` calls ``auth.test`` once here, so a wrong SLACK_BOT_TOKEN
    fails at start rather than on the first command.  An ``observer`` hears how long
    slash commands took to be acked.
    """
    settings = ctx.services.settings
    settings.require_slack()
    try:
        app = _new_app(client, settings, token_verification=token_verification)
    except BoltError as exc:
        # bolt wraps the failed auth.test; say which setting to fix (never the token itself).
        raise SettingsError(
            f"SLACK_BOT_TOKEN was rejected by Slack ({_auth_error(exc)}); check the bot token "
            "on the Slack app's 'OAuth & Permissions' page and SLACK_API_URL"
        ) from None
    app.use(request_log_fields)
    if observer is not None:
        app.use(ack_timer(observer))
    register_listeners(app, ctx, work)
    errors.register(app)
    return app


def request_log_fields(
    req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
) -> BoltResponse:
    """A bolt middleware: log lines made for this request (and for the work it queues)
    carry its ``channel`` and ``user`` as structured fields.

    bolt runs the listener after the middleware has returned, so the fields are set for
    the rest of the running context (the HTTP server gives each request its own).
    """
    body = req.body if isinstance(req.body, dict) else {}
    request_fields(channel=_id_in(body, "channel"), user=_id_in(body, "user"))
    return next()


def _id_in(body: dict[str, Any], kind: str) -> str | None:
    """The channel or user id of a slash command, an interaction or an event."""
    flat = body.get(f"{kind}_id")
    if isinstance(flat, str) and flat:
        return flat
    for holder in (body, body.get("event")):
        if isinstance(holder, dict):
            value = holder.get(kind)
            if isinstance(value, dict):
                value = value.get("id")
            if isinstance(value, str) and value:
                return value
    return None


def _new_app(client: WebClient, settings: Settings, *, token_verification: bool) -> App:
    """bolt's ``App`` for scanbot's listeners, which ack and hand their work to the queue.

    * ``request_verification_enabled=False``: every HTTP request reaches bolt through
      :class:`bot.slack.guard.SlackRequestGuard` (:func:`bot.server.build_wsgi_app` is the
      only HTTP entry), which has already verified the signature over the raw bytes and
      refused (401) anything unsigned, forged or stale; bolt checking the same HMAC again
      only cost time.  Socket Mode requests are not signed.  Serving this app over HTTP
      without the guard would accept unsigned requests: don't.
    * ``process_before_response=True``: the listener runs on the request's own thread and
      the answer goes out when it returns.  scanbot's listeners only parse, ack and reserve
      a place on the work queue (microseconds), so this is the ack; with ``False`` bolt
      runs the listener on another pool and polls for the ack every 10 ms.
    """
    secret = settings.slack_signing_secret
    return App(
        client=client,
        # Socket Mode needs no signing secret (its requests are not signed); HTTP mode has one.
        signing_secret=secret.get_secret_value() if secret is not None else "",
        token_verification_enabled=token_verification,
        request_verification_enabled=False,
        process_before_response=True,
        logger=logging.getLogger("bot.slack.bolt"),
    )


def _auth_error(exc: BoltError) -> str:
    """The Slack error code inside bolt's auth.test failure message, e.g. ``invalid_auth``."""
    match = re.search(r"'error': '([a-z_]+)'", str(exc))
    return match.group(1) if match else "auth.test failed"
