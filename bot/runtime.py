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
from sqlalchemy.exc import SQLAlchemyError

from bot.console.client import ConsoleClient
from bot.console.observer import FanOut
from bot.health import Health, observed_cycle
from bot.metrics import Metrics, StateSample
from bot.services import Console, Services, utc_now
from bot.settings import Settings
from bot.slack.app import App, WebClient, build_app, build_web_client
from bot.slack.digest_poster import SlackDigestPoster
from bot.slack.notifier import SlackNotifier
from bot.store import Store
from bot.watcher.digest import digest_trigger, post_digest
from bot.watcher.job import POLL_LOCK, ConsoleFetcher, CycleReport, poll_cycle, prune_history
from bot.watcher.lifecycle import WatchContext
from bot.watcher.scheduler import add_digest_job, build_scheduler

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
    metrics: Metrics
    monitor: Health  # poll cycles, console answers, last error (readiness, status)
    _closers: list[Any] = field(default_factory=list)

    def poll_once(self) -> CycleReport:
        """One poll cycle, exactly what the scheduler runs (health and metrics recorded)."""
        return observed_cycle(
            self.monitor,
            functools.partial(poll_cycle, self.ctx, self.fetcher, owner=self.owner),
            clock=self.ctx.services.clock,
            on_duration=self.metrics.cycle_done,
        )

    def readiness(self) -> tuple[bool, dict[str, object]]:
        """Ready: the database answers, a poll cycle succeeded recently, the console
        accepts our credentials (``/readyz``)."""
        return self.monitor.readiness(database_ok=self.store.ping(), now=self.ctx.services.clock())

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
    metrics = Metrics()
    health = Health(poll_seconds=settings.scanbot_poll_seconds, clock=clock)
    closers.append(metrics.install_retry_hook())
    console = ConsoleClient.from_settings(settings, observer=FanOut(metrics, health))
    closers.append(console.close)
    services = Services(settings=settings, console=console, store=store, clock=clock, health=health)
    web_client = build_web_client(settings, observer=metrics)
    ctx = WatchContext(services=services, notifier=SlackNotifier(web_client))
    app = build_app(ctx, web_client, token_verification=token_verification, observer=metrics)
    fetcher = ConsoleFetcher(console, workers=settings.scanbot_console_concurrency)
    owner = instance_id()
    metrics.watch_state(functools.partial(sample_state, store, health, clock))
    scheduler = build_scheduler(
        observed_cycle,
        args=(health, functools.partial(poll_cycle, ctx, fetcher, owner=owner)),
        kwargs={"clock": clock, "on_duration": metrics.cycle_done},
        poll_seconds=settings.scanbot_poll_seconds,
        prune=functools.partial(prune_history, ctx),
    )
    if settings.scanbot_digest_channels:
        add_digest_job(
            scheduler,
            functools.partial(post_digest, services, SlackDigestPoster(web_client), owner=owner),
            digest_trigger(settings),
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
        metrics=metrics,
        monitor=health,
        _closers=closers,
    )


def sample_state(store: Store, health: Health, clock: Callable[[], datetime]) -> StateSample:
    """The gauges read at each ``/metrics`` scrape; a database that does not answer leaves
    its gauges out rather than failing the scrape."""
    now = clock()
    success = health.state().last_success_at
    age = (now - success).total_seconds() if success is not None else None
    try:
        open_watches = len(store.list_open())
        pending, oldest = store.outbox_backlog(now=now)
        list_subscriptions = getattr(store, "list_subscriptions", None)
        subscriptions = len(list_subscriptions()) if callable(list_subscriptions) else None
    except SQLAlchemyError as exc:
        log.warning("metrics: the database did not answer: %s", type(exc).__name__)
        return StateSample(last_success_age_seconds=age)
    return StateSample(
        open_watches=open_watches,
        subscriptions=subscriptions,
        outbox_pending=pending,
        outbox_oldest_seconds=oldest,
        last_success_age_seconds=age,
    )
