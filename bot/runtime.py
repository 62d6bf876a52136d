"""Builds the whole bot from one :class:`Settings`: store, console, Slack, watcher, scheduler."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import socket
import threading
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
from bot.domain.permissions import rules_in_force
from bot.domain.ports import Console, utc_now
from bot.process.collector import without_collections
from bot.process.frontdoor import FrontDoor
from bot.process.health import Health, observed_cycle
from bot.process.metrics import Metrics, StateSample
from bot.process.workqueue import WorkQueue
from bot.slack.app import App, WebClient, build_app, build_web_client
from bot.slack.digest_poster import SlackDigestPoster
from bot.slack.notifier import SlackNotifier
from bot.slack.replays import SharedReplays
from bot.store import Store
from bot.watcher.digest import digest_trigger, post_digest
from bot.watcher.fetcher import ConsoleFetcher
from bot.watcher.job import (
    POLL_LOCK,
    CycleReport,
    WatchedTime,
    poll_cycle,
    prune_history,
)
from bot.watcher.lifecycle import WatchContext
from bot.watcher.open_watches import OpenWatches
from bot.watcher.quiet_images import QuietImages
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
    replays: SharedReplays  # signatures of Slack requests accepted (the guard's replay check)
    supervisor: PollSupervisor
    watched: WatchedTime
    open_watches: OpenWatches
    quiet_images: QuietImages
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
                polled,
                self.monitor,
                functools.partial(
                    poll_cycle,
                    self.ctx,
                    self.fetcher,
                    owner=self.owner,
                    watched=self.watched,
                    open_watches=self.open_watches,
                    quiet=self.quiet_images,
                ),
            ),
            clock=self.ctx.services.clock,
            on_duration=self.metrics.cycle_done,
        )

    def readiness(self) -> tuple[bool, dict[str, object]]:
        """``/readyz``: this replica can take Slack requests (see :meth:`Health.readiness`);
        outside faults are listed as degraded reasons, they do not make it unready.

        Nothing here waits on the database or the network (a probe must answer at once
        even when the database host is unreachable): the database's state is what the
        poll cycles (every replica renews or asks for the poll lease each interval) and the
        sender last met.
        """
        status = self.sender.status
        stored = self.supervisor.problems().get("database") or status.storage_error or ""
        return self.monitor.readiness(
            database_ok=not stored,
            database_error=stored,
            now=self.ctx.services.clock(),
            slack_refused=status.not_authorized,
            work_full=self.work.full,
        )

    def start(self) -> None:
        self.sender.start()
        self.scheduler.start()
        self.monitor.running()
        log.info("scanbot started: polling every %.0f s", self.settings.scanbot_poll_seconds)

    def health(self) -> tuple[bool, dict[str, object]]:
        """``/healthz`` (liveness): this process can make progress — the scheduler's thread
        is alive, no poll cycle is stuck, Slack work is not wedged.  The database, Slack and
        the console are outside faults: they belong to :meth:`readiness` and the metrics,
        never to liveness (restarting every replica would not fix them)."""
        return self.monitor.liveness(
            scheduler_alive=scheduler_alive(self.scheduler),
            work_wedged_seconds=self.work.wedged_seconds(),
        )

    def shutdown(self) -> None:
        """No new polls or Slack work; the running poll finishes, accepted work gets up to
        ``SCANBOT_SHUTDOWN_SECONDS`` (in all); then the pools, console and database close."""
        deadline = time.monotonic() + self.settings.scanbot_shutdown_seconds
        self.monitor.stopping()
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


def scheduler_alive(scheduler: BackgroundScheduler) -> bool:
    """The scheduler runs and its thread (APScheduler's, which fires the jobs) is alive."""
    thread = getattr(scheduler, "_thread", None)
    alive = thread is None or (isinstance(thread, threading.Thread) and thread.is_alive())
    return bool(scheduler.running) and alive


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
    for rule in rules_in_force(settings.permissions):
        log.info("permissions: %s", rule)
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
    # A replay is ignored by every replica sharing the database; on SQLite (one process)
    # this process's memory decides and the database keeps a copy for the next start.
    replays = SharedReplays(store, write_behind=store.one_process(), busy=front_door.busy)
    closers.append(replays.close)
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
    open_watches = OpenWatches(store)
    quiet_images = QuietImages()
    metrics.watch_state(functools.partial(sample_state, store, health, clock, sender))
    sqlite_file = store.sqlite_file()
    supervisor = PollSupervisor(
        cycle=functools.partial(
            observed_cycle,
            health,
            functools.partial(
                polled,
                health,
                functools.partial(
                    poll_cycle,
                    ctx,
                    fetcher,
                    owner=owner,
                    watched=watched,
                    open_watches=open_watches,
                    quiet=quiet_images,
                ),
            ),
            clock=clock,
            on_duration=metrics.cycle_done,
        ),
        slack_refused=lambda: sender.status.not_authorized,
        sqlite_path=sqlite_file,
        recreate_database=(
            functools.partial(_recreate, store, open_watches) if sqlite_file is not None else None
        ),
        file_problem=store.file_problem,
        database_lost=functools.partial(health.lasting_fault, "database"),
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
        replays=replays,
        supervisor=supervisor,
        watched=watched,
        open_watches=open_watches,
        quiet_images=quiet_images,
        owner=owner,
        metrics=metrics,
        monitor=health,
        _closers=closers,
    )


def slack_budget(store: Store, limits: BudgetLimits | None = None) -> SlackBudget:
    """The budget of Slack calls of this workspace, shared by every replica of the database."""
    return SlackBudget(SharedBuckets(store), limits)


def sample_state(
    store: Store, health: Health, clock: Callable[[], datetime], sender: Sender
) -> StateSample:
    """The gauges read at each ``/metrics`` scrape.

    Gauges of shared state are read only by the replica holding the poll lease (the others
    leave them out: summed over replicas they count once); a database that does not answer
    leaves them out rather than failing the scrape.
    """
    now = clock()
    state = health.state()
    success = state.last_success_at
    own = StateSample(
        last_success_age_seconds=(now - success).total_seconds() if success else None,
        last_poll_timestamp=state.last_poll_at.timestamp() if state.last_poll_at else None,
        poll_lease_held=health.holds_poll_lease(),
        slack_token_refused=sender.status.not_authorized is not None,
    )
    if not own.poll_lease_held:
        return own
    try:
        open_watches = store.count_open()
        pending, oldest = store.outbox_backlog(now=now)
        subscriptions = len(store.subscriptions())
        completed = store.last_regular_completion()
    except SQLAlchemyError as exc:
        log.warning("metrics: the database did not answer: %s", type(exc).__name__)
        return own
    return dataclasses.replace(
        own,
        open_watches=open_watches,
        subscriptions=subscriptions,
        outbox_pending=pending,
        outbox_oldest_seconds=oldest,
        last_regular_completion_timestamp=completed.timestamp() if completed else None,
    )


def _recreate(store: Store, open_watches: OpenWatches) -> None:
    """The SQLite file was deleted: recreate it, and forget the watches read from it."""
    store.reopen()
    open_watches.forget()


def polled(health: Health, cycle: Callable[[], CycleReport]) -> CycleReport:
    """Run ``cycle`` and tell ``health`` whether this process held the poll lease."""
    report = cycle()
    health.poll_lease_seen(report.ran)
    return report
