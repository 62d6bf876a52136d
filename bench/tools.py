"""Pieces of ``python -m bench``: processes, signed command bursts, percentiles, RSS, seeding.

Nothing here asserts on time; it measures and returns numbers.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bot.config.settings import Settings
from bot.console.client import ConsoleClient
from bot.domain.images import ScanTarget
from bot.domain.ports import utc_now
from bot.domain.progress import snapshot
from bot.sandbox.console import RecordedRequest, SandboxConsoleConfig
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from bot.store import Store
from bot.store.tables import watches
from bot.store.watches import open_key


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` every 50 ms until it holds (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if condition():
            return True
        pause.wait(0.05)
    return False


class PhaseClock:
    """Seconds each phase of a run took (``lap(name)`` ends the current one)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._last, 1)
        self._last = now


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> dict[str, Any]:
    """Which machine the figures come from."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50, p99 (nearest rank) and max of latencies in ms, and the sample count."""
    if not samples:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p99": round(p99, 2),
        "max": round(ordered[-1], 2),
    }


class Process:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self._log = log.open("ab")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            argv, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.log_path = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_http(self, url: str, *, ok: Callable[[int], bool], timeout: float = 60.0) -> float:
        """Seconds from the start of the process to the first answer ``ok`` accepts."""
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.log_path.name}: the process exited with {self.proc.returncode}; "
                        f"its output: {self.log_path.read_text()[-2000:]}"
                    )
                try:
                    if ok(client.get(url).status_code):
                        return time.perf_counter() - self.started
                except httpx.TransportError:
                    pass
                pause.wait(0.01)
        raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def memory_mb(pid: int) -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory of ``pid`` in MB (Linux /proc)."""
    found: dict[str, float] = {}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {"peak": -1.0, "current": -1.0}
    for line in lines:
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            found[name] = round(int(value.split()[0]) / 1024, 1)
    return {"peak": found.get("VmHWM", -1.0), "current": found.get("VmRSS", -1.0)}


def command_burst(
    url: str,
    secret: str,
    texts: Sequence[tuple[str, str]],
    *,
    concurrency: int,
    response_url: str,
) -> list[float]:
    """POST each ``(channel, text)`` as a signed ``/scanprogress``; ack latencies in ms.

    ``concurrency`` workers, each with its own keep-alive connection as Slack's are, from
    its own loopback address (Slack's requests come from many addresses; the bot holds at
    most 100 connections from one).
    The requests are signed before the first is sent, and sent with :mod:`http.client`:
    the client shares the machine's cores with the servers it measures, so it spends as
    little CPU as it can (at concurrency 20 an httpx client took more than a core of two,
    this one about half of one).  A request that fails or answers
    other than 200 counts as 3,000 ms (Slack's limit).
    """
    parts = urllib.parse.urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    prepared: list[tuple[bytes, dict[str, str]]] = []
    for channel, text in texts:
        body = slash_command_body(
            text=text,
            channel_id=channel,
            response_url=response_url,
            trigger_id=uuid.uuid4().hex,
        )
        prepared.append((body, signed_headers(secret, body)))
    local = threading.local()
    connections: list[http.client.HTTPConnection] = []
    lock = threading.Lock()

    def one(request: tuple[bytes, dict[str, str]]) -> float:
        connection: http.client.HTTPConnection | None = getattr(local, "connection", None)
        if connection is None:
            with lock:
                source = _loopback_source(len(connections))
                connection = http.client.HTTPConnection(
                    host, port, timeout=10, source_address=(source, 0)
                )
                connections.append(connection)
            local.connection = connection
        body, headers = request
        started = time.perf_counter()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()  # the next request of this worker connects again
            status = 0
        took = (time.perf_counter() - started) * 1000
        return took if status == 200 else max(took, 3000.0)

    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(one, prepared))
    finally:
        for connection in connections:
            connection.close()


def _loopback_source(n: int) -> str:
    """The ``n``-th of the loopback addresses 127.0.1.1, 127.0.1.2 ... (all of 127/8 is
    loopback on Linux)."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


def command_burst_process(
    url: str,
    secret: str,
    texts: Sequence[tuple[str, str]],
    *,
    concurrency: int,
    response_url: str,
) -> list[float]:
    """:func:`command_burst` run by :mod:`bench.loadgen` in its own process (see why
    there); the same latencies."""
    spec = {
        "kind": "commands",
        "url": url,
        "secret": secret,
        "texts": [list(t) for t in texts],
        "concurrency": concurrency,
        "response_url": response_url,
    }
    return [float(ms) for ms in _loadgen(spec)]


def bare_fetch_seconds_process(
    console_url: str, user: str, password: str, targets: Sequence[ScanTarget], concurrency: int
) -> float:
    """:func:`bare_fetch_seconds` run by :mod:`bench.loadgen` in its own process."""
    spec = {
        "kind": "fetch",
        "console_url": console_url,
        "user": user,
        "password": password,
        "targets": [[t.repo, t.tag or ""] for t in targets],
        "concurrency": concurrency,
    }
    return float(_loadgen(spec))


def _loadgen(spec: dict[str, Any]) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout)


def seed_watches(settings: Settings, targets: Sequence[ScanTarget], channels_per_image: int) -> int:
    """Open ``channels_per_image`` ACTIVE watches per target (before the bot starts), each
    already holding the progress the console reports now; returns how many.

    The first channel's watches are made with the store API (create, record progress,
    activate: what a follow does); the other channels' are copies of those rows with
    their own channel, open key and parent, written in one transaction per channel, so
    seeding 5,000 or 10,000 watches takes seconds, not minutes.
    """
    store = Store(settings.scanbot_database_url)
    store.migrate()
    try:
        with ConsoleClient.from_settings(settings) as console:
            snaps = {t.key: snapshot(console.progress(t)) for t in targets}
        first: list[int] = []
        for target in targets:
            now = utc_now()
            watch, _ = store.create_watch(
                target=target, channel_id=_seed_channel(0), requester_id="U0BENCH", now=now
            )
            store.record_progress(
                watch.id,
                snapshot=snaps[target.key],
                saw_running=True,
                thread_posted_at=None,
                now=now,
            )
            store.activate(watch.id, parent_ts=_seed_ts(watch.id), now=now)
            first.append(watch.id)
        _copy_to_channels(settings.scanbot_database_url, first, channels_per_image)
        return store.count_open()
    finally:
        store.close()


def _seed_channel(n: int) -> str:
    return f"CSEED{n:05d}"


def _seed_ts(n: int) -> str:
    return f"1700000000.{n:06d}"


def _copy_to_channels(database_url: str, ids: Sequence[int], channels: int) -> None:
    """Copies of the watches ``ids`` (channel 0) for channels 1 .. ``channels`` - 1."""
    table = watches
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        rows = [
            dict(r._mapping)
            for r in connection.execute(sa.select(table).where(table.c.id.in_(ids)))
        ]
    serial = len(ids)
    for channel in range(1, channels):
        copies = []
        for row in rows:
            serial += 1
            copy = {k: v for k, v in row.items() if k != "id"}
            copy["channel_id"] = _seed_channel(channel)
            copy["open_key"] = open_key(copy["channel_id"], row["target_key"])
            copy["parent_ts"] = _seed_ts(serial)
            copies.append(copy)
        with engine.begin() as connection:
            connection.execute(table.insert(), copies)
    engine.dispose()


def cycles_of(requests: Sequence[RecordedRequest], gap: float) -> list[list[RecordedRequest]]:
    """Progress requests grouped into poll cycles: a pause longer than ``gap`` starts one."""
    ordered = sorted(requests, key=lambda r: r.at)
    groups: list[list[RecordedRequest]] = []
    for request in ordered:
        if groups and request.at - groups[-1][-1].at <= gap:
            groups[-1].append(request)
        else:
            groups.append([request])
    return groups


def bare_fetch_seconds(
    console_url: str, user: str, password: str, targets: Sequence[ScanTarget], concurrency: int
) -> float:
    """A bare httpx loop: one progress request per target at ``concurrency``; seconds taken.

    It does what any client of the progress API must, as the bot does, and nothing more:
    one ``POST /authenticate`` for a token (before the clock starts), then each request
    with ``Authorization: Bearer``, its answer read and decoded from JSON.
    """
    with httpx.Client(
        base_url=f"{console_url}/api/v1",
        timeout=30,
        limits=httpx.Limits(max_connections=concurrency),
    ) as client:
        login = client.post("/authenticate", json={"username": user, "password": password})
        client.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['token']}"

        def one(target: ScanTarget) -> object:
            params = {"onDemand": "true", "repo": target.repo, "tag": target.tag or ""}
            return client.get("/registry/progress", params=params).raise_for_status().json()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(one, targets))
        return time.perf_counter() - started


def cycle_period_seconds(log: Path, *, since: float, until: float) -> float | None:
    """Median time between the bot's "poll cycle:" log lines logged between two epoch times
    (its text log format); ``None`` when fewer than two are found."""
    stamps: list[float] = []
    for line in log.read_text(errors="replace").splitlines():
        if "poll cycle:" not in line:
            continue
        try:
            when = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        except ValueError:
            continue
        if since <= when <= until:
            stamps.append(when)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return round(statistics.median(gaps), 3) if gaps else None


def cycle_seconds_metric(url: str) -> tuple[float, float]:
    """``scanbot_poll_cycle_seconds`` sum and count from the bot's ``/metrics``."""
    found = {"sum": 0.0, "count": 0.0}
    text = httpx.get(f"{url}/metrics", timeout=10).text
    for line in text.splitlines():
        for name in found:
            if line.startswith(f"scanbot_poll_cycle_seconds_{name} "):
                found[name] = float(line.split()[1])
    return found["sum"], found["count"]


def mean_cycle_seconds(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    """The mean duration of the cycles between two readings of :func:`cycle_seconds_metric`."""
    cycles = after[1] - before[1]
    return round((after[0] - before[0]) / cycles, 3) if cycles > 0 else None


def bot_command(python: str = sys.executable) -> list[str]:
    return [python, "-m", "bot", "run", "--host", "127.0.0.1"]


@contextlib.contextmanager
def console_in_child(
    serve: Callable[..., None], *args: object
) -> Iterator[tuple[str, SandboxConsoleConfig, Connection]]:
    """A simulated console in a process of its own (its CPU is not the bot's):
    ``serve(*args, pipe)`` starts it, sends ``(url, user, password)`` and answers on the
    pipe until it receives ``"stop"``.  Yields its URL, credentials and the pipe."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(*args, child), daemon=True)
    process.start()
    try:
        url, user, password = parent.recv()
        yield url, SandboxConsoleConfig(user=user, password=password), parent
    finally:
        parent.send("stop")
        process.join(10)
