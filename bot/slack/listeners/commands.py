"""``/scanprogress``: ack at once, then ask the console and answer.

The ack never waits: answers that need no I/O (help, bad input) go in the ack itself;
everything else runs on the bot's own work queue after the ack, and a full queue is said
in the ack.  Expected failures (console errors, a database that cannot be written, a
channel the bot cannot post in) become ephemeral messages saying what to do; anything
else goes to the one error handler (:func:`bot.slack.errors.report_unexpected`).
"""

from __future__ import annotations

import logging
from typing import Any, assert_never

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.console.errors import ConsoleError
from bot.domain.images import ScanTarget
from bot.domain.permissions import may_start_scans
from bot.domain.progress import snapshot
from bot.process.workqueue import WorkQueue
from bot.slack import blocks
from bot.slack.command_text import (
    BadInput,
    Command,
    FollowImage,
    ListSubscriptions,
    ListWatches,
    ShowHelp,
    ShowRegularScan,
    ShowStatus,
    StartScan,
    StopWatch,
    Subscribe,
    Unsnooze,
    Unsubscribe,
    parse_command,
)
from bot.slack.errors import report_unexpected, tell_dropped, tell_interrupted
from bot.slack.listeners.replace import ReplacingRespond
from bot.slack.listeners.snooze import refusal
from bot.slack.mrkdwn import escape
from bot.slack.people import may_stop
from bot.slack.status import show_status
from bot.store.regular import SubscriptionLimitError
from bot.watcher import lifecycle, regular
from bot.watcher.lifecycle import FollowResult, WatchContext
from bot.watcher.start import Refused, start_and_follow

log = logging.getLogger(__name__)

COMMAND = "/scanprogress"
HELP_HINT = "Type `/scanprogress help` for examples."


def register(app: App, ctx: WatchContext, work: WorkQueue) -> None:
    @app.command(COMMAND)
    def scanprogress(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        handle_scanprogress(ctx, work, ack, command, respond, client=app.client)


def handle_scanprogress(
    ctx: WatchContext,
    work: WorkQueue,
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    *,
    client: WebClient,
) -> None:
    request = parse_command(str(command.get("text") or ""))
    # Parsing is pure and takes microseconds: answers that need no I/O go in the ack itself.
    match request:
        case ShowHelp():
            ack(**blocks.help_text(str(command.get("command") or COMMAND)).as_kwargs())
            return
        case BadInput():
            ack(**blocks.error_message(request.message, HELP_HINT).as_kwargs())
            return
        case _:
            pass
    reservation = work.reserve()
    if reservation is None:
        ack(**blocks.busy_message().as_kwargs())
        return
    try:
        if isinstance(request, FollowImage | StartScan):
            starting = isinstance(request, StartScan)
            ack(**blocks.follow_ack(request.target, starting=starting).as_kwargs())
            respond = ReplacingRespond(respond)  # the outcome takes the ack's place
        else:
            ack()
    except BaseException:
        reservation.cancel()  # the ack failed: the place in the queue goes back
        raise
    reservation.submit(
        lambda: _answer(ctx, client, request, command, respond),
        on_error=lambda error: report_unexpected(error, respond),
        on_dropped=lambda: tell_dropped(respond),
        on_interrupted=lambda: tell_interrupted(respond),
    )


def _answer(
    ctx: WatchContext,
    client: WebClient,
    request: Command,
    command: dict[str, Any],
    respond: Respond,
) -> None:
    """The work after the ack, on the bot's work queue."""
    channel_id = str(command.get("channel_id") or "")
    user_id = str(command.get("user_id") or "")
    log.info("/scanprogress from %s in %s: %s", user_id, channel_id, _describe(request))
    try:
        match request:
            case ShowRegularScan():
                snap = snapshot(ctx.services.console.progress(None))
                respond(**blocks.regular_scan(snap, now=ctx.services.clock()).as_kwargs())
            case ListWatches():
                watches = ctx.services.store.list_open(channel_id=channel_id)
                respond(**blocks.watch_list(watches, now=ctx.services.clock()).as_kwargs())
            case ShowStatus():
                show_status(ctx, channel_id=channel_id, respond=respond, user_id=user_id)
            case StopWatch():
                _stop(ctx, client, request, channel_id=channel_id, user_id=user_id, respond=respond)
            case FollowImage():
                _follow(ctx, request, channel_id=channel_id, user_id=user_id, respond=respond)
            case StartScan():
                result = start_and_follow(
                    ctx, request.target, channel_id=channel_id, user_id=user_id
                )
                answer_start(result, request.target, channel_id, user_id, respond)
            case Subscribe() | Unsubscribe() | Unsnooze() | ListSubscriptions():
                _subscriptions(
                    ctx, request, channel_id=channel_id, user_id=user_id, respond=respond
                )
            case ShowHelp() | BadInput():
                pass  # answered in the ack
            case _:
                assert_never(request)
    except ConsoleError as exc:
        log.warning("console error answering %s: %s", _describe(request), exc.detail or exc)
        respond(**blocks.error_message(str(exc), exc.hint).as_kwargs())
    except SQLAlchemyError as exc:
        log.error("the database failed answering %s: %s", _describe(request), exc)
        respond(**blocks.storage_unavailable().as_kwargs())


def _subscriptions(
    ctx: WatchContext,
    request: Subscribe | Unsubscribe | Unsnooze | ListSubscriptions,
    *,
    channel_id: str,
    user_id: str,
    respond: Respond,
) -> None:
    store = ctx.services.store
    now = ctx.services.clock()
    if isinstance(request, ListSubscriptions):
        listed = store.subscriptions()
        if ctx.services.settings.permissions.is_admin(user_id):
            respond(**blocks.subscription_list(listed, channel_id, now=now).as_kwargs())
        else:  # other channels' ids, private ones included, are for admins only
            here = any(sub.channel_id == channel_id for sub in listed)
            respond(**blocks.channel_subscription(channel_id, subscribed=here).as_kwargs())
        return
    refused = refusal(ctx, channel_id=channel_id, user_id=user_id)
    if refused is not None:
        respond(**refused.as_kwargs())
        return
    current = store.subscription(channel_id)
    configured = channel_id in ctx.services.settings.scanbot_notify_channels
    match request:
        case Subscribe():
            try:
                created = store.subscribe(
                    channel_id,
                    by_user=user_id,
                    source="command",
                    now=now,
                    level=request.level,
                    mention=request.mention,
                    limit=ctx.services.settings.scanbot_max_subscriptions,
                )
            except SubscriptionLimitError as full:
                respond(**blocks.subscriptions_full(full.limit).as_kwargs())
                return
            now_subscribed = store.subscription(channel_id)
            assert now_subscribed is not None
            answer = blocks.subscribed(
                channel_id,
                already=not created,
                level=now_subscribed.level,
                mention=now_subscribed.mention,
            )
            respond(**answer.as_kwargs())
        case Unsubscribe():
            removed = regular.unsubscribe(ctx, channel_id)
            message = blocks.unsubscribed(channel_id, removed=removed, from_setting=configured)
            respond(**message.as_kwargs())
        case Unsnooze():
            if current is None:
                respond(**blocks.not_subscribed(channel_id, "unsnooze").as_kwargs())
                return
            store.snooze(channel_id, until=None, by_user=user_id)
            was = current.snoozed(now)
            respond(**blocks.unsnoozed(channel_id, was_snoozed=was).as_kwargs())
        case _:
            assert_never(request)


def _describe(request: object) -> str:
    target = getattr(request, "target", None)
    name = type(request).__name__
    return f"{name} {target.key}" if target is not None else name


def _follow(
    ctx: WatchContext, request: FollowImage, *, channel_id: str, user_id: str, respond: Respond
) -> None:
    result = lifecycle.follow(ctx, request.target, channel_id=channel_id, user_id=user_id)
    match result:
        case lifecycle.NoScanRunning():
            can_scan = may_start_scans(
                ctx.services.settings.permissions, user_id=user_id, channel_id=channel_id
            )
            respond(**blocks.no_scan_in_progress(request.target, can_scan=can_scan).as_kwargs())
        case _:
            _answer_follow(result, request.target, channel_id, respond)


def answer_start(
    result: Refused | FollowResult,
    target: ScanTarget,
    channel_id: str,
    user_id: str,
    respond: Respond,
) -> None:
    """Answer a scan started from Slack (the command or the Scan now button)."""
    match result:
        case Refused():
            respond(**blocks.scan_refused(user_id, channel_id).as_kwargs())
        case lifecycle.NoScanRunning():
            respond(**blocks.scan_requested_not_reported(target).as_kwargs())
        case _:
            _answer_follow(result, target, channel_id, respond)


def _answer_follow(
    result: FollowResult, target: ScanTarget, channel_id: str, respond: Respond
) -> None:
    match result:
        case lifecycle.NoScanRunning():
            respond(**blocks.no_scan_in_progress(target).as_kwargs())
        case lifecycle.JustFinished():
            message = blocks.scan_just_finished(target, result.snap, result=result.result)
            respond(**message.as_kwargs())
        case lifecycle.AlreadyFollowing():
            respond(**blocks.already_watching(result.watch).as_kwargs())
        case lifecycle.ChannelUnavailable():
            respond(**blocks.not_in_channel(channel_id).as_kwargs())
        case lifecycle.Started():
            respond(**blocks.following(target, channel_id).as_kwargs())
        case _:
            assert_never(result)


def _stop(
    ctx: WatchContext,
    client: WebClient,
    request: StopWatch,
    *,
    channel_id: str,
    user_id: str,
    respond: Respond,
) -> None:
    watch = ctx.services.store.find_open(channel_id=channel_id, target_key=request.target.key)
    if watch is not None and not may_stop(
        ctx.services.settings.permissions, client, watch, user_id=user_id
    ):
        respond(**blocks.stop_refused(watch.requester_id).as_kwargs())
        return
    if watch is None or not lifecycle.stop(ctx, watch, by_user=user_id):
        respond(
            **blocks.error_message(
                f"This channel is not following {request.target.display()}.",
                "Type `/scanprogress list` to see what it follows.",
            ).as_kwargs()
        )
        return
    respond(text=f"Stopped following {escape(request.target.display())}.")
