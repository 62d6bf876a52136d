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
from bot.services import Console, Services, utc_now
from bot.settings import Settings
from bot.slack.app import App, WebClient, build_app, build_web_client
from bot.slack.notifier import SlackNotifier
from bot.store import Store
from bot.watcher.job import POLL_LOCK, ConsoleFetcher, CycleReport, poll_cycle, prune_history
from bot.watcher.lifecycle import WatchContext
from bot.watcher.scheduler import build_scheduler

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
    owner: str
    _closers: list[Any] = field(default_factory=list)

    def poll_once(self) -> CycleReport:
        """One poll cycle, exactly what the scheduler runs."""
        return poll_cycle(self.ctx, self.fetcher, owner=self.owner)

    def start(self) -> None:
        self.scheduler.start()
        log.info("scanbot started: polling every %.0f s", self.settings.scanbot_poll_seconds)

    def health(self) -> tuple[bool, dict[str, str]]:
        """Healthy once the scheduler runs and the database answers."""
        scheduler_ok = bool(self.scheduler.running)
        database_ok = self.store.ping()
        report = {
            "status": "ok" if scheduler_ok and database_ok else "unavailable",
            "scheduler": "running" if scheduler_ok else "stopped",
            "database": "ok" if database_ok else "unreachable",
        }
        return scheduler_ok and database_ok, report

    def shutdown(self) -> None:
        """No new polls; the running one finishes; then the pool, console and database close."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
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
) -> Runtime:
    """Build (not start) the bot.  Migrates the database schema.

    ``clock`` is the wall clock of every decision (tests and the demo pass their own);
    ``token_verification`` False skips bolt's ``auth.test`` when the caller already did it.
    """
    settings.require_slack()
    store = Store(settings.scanbot_database_url)
    store.migrate()
    closers: list[Any] = []
    console = ConsoleClient.from_settings(settings)
    closers.append(console.close)
    services = Services(settings=settings, console=console, store=store, clock=clock)
    web_client = build_web_client(settings)
    ctx = WatchContext(services=services, notifier=SlackNotifier(web_client))
    app = build_app(ctx, web_client, token_verification=token_verification)
    fetcher = ConsoleFetcher(console, workers=settings.scanbot_console_concurrency)
    owner = instance_id()
    scheduler = build_scheduler(
        poll_cycle,
        args=(ctx, fetcher),
        kwargs={"owner": owner},
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
        owner=owner,
        _closers=closers,
    )
