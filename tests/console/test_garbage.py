"""A console request leaves no reference cycles behind.

Whatever a request leaves in a cycle is freed only by CPython's cyclic collector, and a
collection holds the interpreter lock while it walks that garbage: every ack in flight
waits.  The bot's poll cycle makes hundreds of requests with the collector paused
(``bot.process.collector``), so garbage per request became one collection of 50,000+ objects
that stalled acks for 100-544 ms (docs/performance.md, "Where the time goes", garbage).
These tests count what the collector finds after many requests, over the mock
transport and over real HTTP to the simulated console.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.config.settings import load_settings
from bot.console.client import ConsoleClient
from bot.console.errors import RateLimited
from bot.console.ratelimit import SlidingWindowLimiter
from bot.domain.images import ScanTarget
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from tests.console.conftest import FakeConsole
from tests.support.garbage import cyclic_garbage as count_cycles

MakeClient = Callable[..., ConsoleClient]
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
REQUESTS = 100


def cyclic_garbage(work: Callable[[], object], times: int = REQUESTS) -> int:
    return count_cycles(work, times)


def test_progress_requests_leave_no_cycles(fake: FakeConsole, make_client: MakeClient) -> None:
    fake.progress_body = [{"isScanOngoing": True, "discovery": {"total": 4, "scanned": 2}}]
    client = make_client()
    found = cyclic_garbage(lambda: client.progress(ALPINE))
    assert found < REQUESTS, f"{found} objects in cycles after {REQUESTS} requests"


def test_requests_refused_by_the_rate_limiter_leave_no_cycles(make_client: MakeClient) -> None:
    """A refusal is an exception; raised inside the retry's attempt it stayed in a cycle."""
    client = make_client()
    client._registry_limiter = SlidingWindowLimiter(1, 3600.0, max_wait=0.0)

    def refused() -> None:
        with pytest.raises(RateLimited):
            client.scan_result(ALPINE)

    client.scan_result(ALPINE)  # takes the only slot
    found = cyclic_garbage(refused)
    assert found < REQUESTS, f"{found} objects in cycles after {REQUESTS} refusals"


def test_requests_over_real_http_leave_no_cycles() -> None:
    """httpx binds each response to its stream; read_answer unbinds them once closed."""
    with SandboxConsole(SandboxConsoleConfig(step_seconds=1.0)).start() as console:
        console.start_on_demand_scan(ALPINE.repo, tag=ALPINE.tag, images=10)
        client = ConsoleClient(
            load_settings(
                environ={},
                prisma_console_url=console.url,
                prisma_user=console.config.user,
                prisma_password=console.config.password,
                prisma_timeout_seconds=5,
            )
        )
        try:
            found = cyclic_garbage(lambda: client.progress(ALPINE))
        finally:
            client.close()
    # The simulated console serves from threads of this process; what it leaves counts too.
    assert found < REQUESTS, f"{found} objects in cycles after {REQUESTS} requests"
