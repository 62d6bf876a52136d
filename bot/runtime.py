"""Builds the whole bot from one :class:`Settings`: store, console, Slack, watcher, scheduler."""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from bot.config.settings import Settings
from bot.console.client import ConsoleClient
from bot.console.observer import FanOut
from bot.delivery.budget import BudgetLimits, SharedBuckets, SlackBudget, Unlimited
from bot.delivery.sender import Sender
from bot.domain.ports import Console, utc_now
from bot.process.collector import without_collections
from bot.process.frontdoor import FrontDoor
from bot.process.health import Health, observed_cycle
from bot.process.metrics import Metrics, StateSample
from bot.process.workqueue import WorkQueue
from bot.slack.app import App, WebClient, build_app, build_web_client
from bot.slack.digest_poster import SlackDigestPoster
from bot.slack.notifier import SlackNotifier
from bot.store import Store
from bot.watcher.digest import digest_trigger, post_digest
from bot.watcher.job import (
    POLL_LOCK,
    ConsoleFetcher,
    CycleReport,
    WatchedTime,
    poll_cycle,
    prune_history,
)
from bot.watcher.lifecycle import WatchContext
from bot.watcher.scheduler import add_digest_job, build_scheduler
from bot.watcher.services import Services
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
    work: WorkQueue
    front_door: FrontDoor
    supervisor: PollSupervisor
    watched: WatchedTime
    owner: str
    metrics: Metrics
    monitor: Health  # poll cycles, console answers, last error (readiness, status)
    _closers: list[Any] = field(default_factory=list)

    def poll_once(self) -> CycleReport:
        """One poll cycle, exactly what the scheduler runs (without its back-off)."""
        return self._observed_cycle()

    def _observed_cycle(self) -> CycleReport:
        return observed_cycle(
            self.monitor,
            functools.partial(
                poll_cycle, self.ctx, self.fetcher, owner=self.owner, watched=self.watched
            ),
            clock=self.ctx.services.clock,
            on_duration=self.metrics.cycle_done,
        )

    def readiness(self) -> tuple[bool, dict[str, object]]:
        """Ready: the database answers, a poll cycle succeeded recently, the console
        accepts our credentials (``/readyz``)."""
        return self.monitor.readiness(database_ok=self.store.ping(), now=self.ctx.services.clock())

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
        """No new polls or Slack work; the running poll finishes, accepted work gets up to
        ``SCANBOT_SHUTDOWN_SECONDS`` (in all); then the pools, console and database close."""
        deadline = time.monotonic() + self.settings.scanbot_shutdown_seconds
        self.fetcher.stop_waiting()  # a cycle waiting on the console goes on with what it has
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.work.close(timeout=max(0.0, deadline - time.monotonic()))
        self.sender.stop(timeout=max(1.0, deadline - time.monotonic()))
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
    slack_limits: BudgetLimits | None = None,
    rate_budget: bool = True,
) -> Runtime:
    """Build (not start) the bot.  Migrates the database schema.

    ``clock`` is the wall clock of every decision (tests and the demo pass their own);
    ``token_verification`` False skips bolt's ``auth.test`` when the caller already did it.
    Every Slack call is held inside Slack's published rate limits (``slack_limits``, by
    default :meth:`BudgetLimits.published`) by a budget shared through the database by
    every replica; ``rate_budget=False`` turns the budget off (tests against a permissive
    stand-in), and then ``channel_interval`` is the pace of posts per channel.
    """
    settings.require_slack()
    store = Store(settings.scanbot_database_url)
    store.migrate()
    for channel_id in settings.scanbot_notify_channels:  # SCANBOT_NOTIFY_CHANNELS
        store.subscribe(channel_id, by_user="", source="setting", now=clock())
    closers: list[Any] = []
    metrics = Metrics()
    health = Health(poll_seconds=settings.scanbot_poll_seconds, clock=clock)
    closers.append(metrics.install_retry_hook())
    console = ConsoleClient.from_settings(settings, observer=FanOut(metrics, health))
    closers.append(console.close)
    services = Services(settings=settings, console=console, store=store, clock=clock, health=health)
    budget = slack_budget(store, slack_limits) if rate_budget else SlackBudget(Unlimited())
    web_client = build_web_client(settings, observer=metrics, budget=budget)
    owner = instance_id()
    front_door = FrontDoor()  # acks first: background work gives way to Slack requests
    sender = Sender(
        store=store,
        notifier=SlackNotifier(web_client),
        owner=owner,
        clock=clock,
        channel_interval=0.0 if rate_budget else channel_interval,
        budget=budget,
        on_completion_delivered=metrics.completion_delivered,
        front_door=front_door,
    )
    ctx = WatchContext(services=services, delivery=sender)
    work = WorkQueue(
        threads=settings.scanbot_work_threads,
        capacity=settings.scanbot_work_queue_size,
        front_door=front_door,
    )
    app = build_app(ctx, web_client, work, token_verification=token_verification, observer=metrics)
    fetcher = ConsoleFetcher(
        console, workers=settings.scanbot_console_concurrency, front_door=front_door
    )
    watched = WatchedTime(cap=max(60.0, 3 * settings.scanbot_poll_seconds))
    metrics.watch_state(functools.partial(sample_state, store, health, clock))
    sqlite_file = store.sqlite_file()
    supervisor = PollSupervisor(
        cycle=functools.partial(
            observed_cycle,
            health,
            functools.partial(poll_cycle, ctx, fetcher, owner=owner, watched=watched),
            clock=clock,
            on_duration=metrics.cycle_done,
        ),
        slack_refused=lambda: sender.status.not_authorized,
        sqlite_path=sqlite_file,
        recreate_database=store.migrate if sqlite_file is not None else None,
    )
    scheduler = build_scheduler(
        front_door.behind(without_collections(supervisor.run)),
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
        sender=sender,
        work=work,
        front_door=front_door,
        supervisor=supervisor,
        watched=watched,
        owner=owner,
        metrics=metrics,
        monitor=health,
        _closers=closers,
    )


def slack_budget(store: Store, limits: BudgetLimits | None = None) -> SlackBudget:
    """The budget of Slack calls of this workspace, shared by every replica of the database."""
    return SlackBudget(SharedBuckets(store), limits)


def sample_state(store: Store, health: Health, clock: Callable[[], datetime]) -> StateSample:
    """The gauges read at each ``/metrics`` scrape; a database that does not answer leaves
    its gauges out rather than failing the scrape."""
    now = clock()
    success = health.state().last_success_at
    age = (now - success).total_seconds() if success is not None else None
    try:
        open_watches = store.count_open()
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
