"""Builds the whole bot from one :class:`Settings`: store, console, Slack, watcher, scheduler."""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bot.console.client import ConsoleClient
from bot.delivery.sender import Sender
from bot.services import Console, Services, utc_now
from bot.settings import Settings
from bot.slack.app import App, WebClient, build_app, build_web_client
from bot.slack.notifier import SlackNotifier
from bot.store import Store
from bot.watcher.job import (
    POLL_LOCK,
    ConsoleFetcher,
    CycleReport,
    WatchedTime,
    poll_cycle,
    prune_history,
)
from bot.watcher.lifecycle import WatchContext
from bot.watcher.scheduler import build_scheduler
from bot.watcher.supervisor import PollSupervisor

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything one scanbot process runs.  ``start()`` it, ``shutdown()`` it once."""

    settings: Settings
    store: Store
    console: Console
    client: WebClient
    app: App
    ctx: WatchContext
    fetcher: ConsoleFetcher
    scheduler: BackgroundScheduler
    sender: Sender
    supervisor: PollSupervisor
    watched: WatchedTime
    owner: str
    _closers: list[Any] = field(default_factory=list)

    def poll_once(self) -> CycleReport:
        """One poll cycle, exactly what the scheduler runs (without its back-off)."""
        return poll_cycle(self.ctx, self.fetcher, owner=self.owner, watched=self.watched)

    def start(self) -> None:
        self.sender.start()
        self.scheduler.start()
        log.info("scanbot started: polling every %.0f s", self.settings.scanbot_poll_seconds)

    def health(self) -> tuple[bool, dict[str, str]]:
        """Healthy while the scheduler runs, the database answers and nothing is refused.

        Anything that keeps scanbot from doing its job — a database it cannot write,
        Slack refusing the token — makes it unhealthy with the reason, so an orchestrator
        restarts it or an operator looks.
        """
        report = {
            "scheduler": "running" if self.scheduler.running else "stopped",
            "database": "ok" if self.store.ping() else "unreachable",
        }
        problems = dict(self.supervisor.problems())
        status = self.sender.status
        if status.not_authorized is not None:
            problems["slack"] = f"Slack refuses the bot token ({status.not_authorized})"
        if status.storage_error is not None:
            problems.setdefault("database", status.storage_error)
        report.update(problems)
        healthy = report["scheduler"] == "running" and report["database"] == "ok"
        healthy = healthy and not problems
        report["status"] = "ok" if healthy else "unavailable"
        return healthy, report

    def shutdown(self) -> None:
        """No new polls; the running one finishes; then the pool, console and database close."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.sender.stop()
        self.fetcher.close()
        self.store.release_lock(POLL_LOCK, owner=self.owner)
        for close in self._closers:
            close()
        self.store.close()
        log.info("scanbot stopped")


def instance_id() -> str:
    """Unique per process, so replicas on one host exclude each other too."""
    return f"{socket.gethostname() or 'scanbot'}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_runtime(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    token_verification: bool = True,
    channel_interval: float = 1.0,
) -> Runtime:
    """Build (not start) the bot.  Migrates the database schema.

    ``clock`` is the wall clock of every decision (tests and the demo pass their own);
    ``token_verification`` False skips bolt's ``auth.test`` when the caller already did it;
    ``channel_interval`` is the pace of posts per channel (Slack allows about one a second).
    """
    settings.require_slack()
    store = Store(settings.scanbot_database_url)
    store.migrate()
    for channel_id in settings.scanbot_notify_channels:  # SCANBOT_NOTIFY_CHANNELS
        store.subscribe(channel_id, by_user="", source="setting", now=clock())
    closers: list[Any] = []
    console = ConsoleClient.from_settings(settings)
    closers.append(console.close)
    services = Services(settings=settings, console=console, store=store, clock=clock)
    web_client = build_web_client(settings)
    owner = instance_id()
    sender = Sender(
        store=store,
        notifier=SlackNotifier(web_client),
        owner=owner,
        clock=clock,
        channel_interval=channel_interval,
    )
    ctx = WatchContext(services=services, delivery=sender)
    app = build_app(ctx, web_client, token_verification=token_verification)
    fetcher = ConsoleFetcher(console, workers=settings.scanbot_console_concurrency)
    watched = WatchedTime(cap=max(60.0, 3 * settings.scanbot_poll_seconds))
    sqlite_file = store.sqlite_file()
    supervisor = PollSupervisor(
        cycle=functools.partial(poll_cycle, ctx, fetcher, owner=owner, watched=watched),
        slack_refused=lambda: sender.status.not_authorized,
        sqlite_path=sqlite_file,
        recreate_database=store.migrate if sqlite_file is not None else None,
    )
    scheduler = build_scheduler(
        supervisor.run,
        poll_seconds=settings.scanbot_poll_seconds,
        prune=functools.partial(prune_history, ctx),
    )
    return Runtime(
        settings=settings,
        store=store,
        console=console,
        client=web_client,
        app=app,
        ctx=ctx,
        fetcher=fetcher,
        scheduler=scheduler,
        sender=sender,
        supervisor=supervisor,
        watched=watched,
        owner=owner,
        _closers=closers,
    )
