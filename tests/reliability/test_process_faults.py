"""Fault injection against ``scanbot run`` as a process: nothing lost, nothing said twice.

For each fault a scan is followed from ``/scanprogress`` to its end (one process for the
whole module, one channel and image per fault).  Slack faults hit the parent's post and
again the completion reply; console faults hit the progress requests after the follow.
Per watch: exactly one parent, exactly one "Scan complete" (none where the channel is
gone), no ack over Slack's 3 s, and ``/scanprogress help`` answered every half second
throughout.  A few faults run by default; the rest are ``slow``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.reliability.stage import Stage, settled, stage
from tests.support.faults import (
    accept_then_fail_next,
    fail_http_next,
    fail_next,
    reset_next,
    stall_next,
)

Inject = Callable[[Stage, str], None]


@dataclass(frozen=True)
class Fault:
    inject: Inject
    on_parent: bool = True  # also fail the parent's post (Slack faults)
    channel_gone: bool = False
    timeout: float = 60.0


def _slack(method_call: Callable[[Stage], None]) -> Inject:
    return lambda s, _channel: method_call(s)


def _gone(attribute: str) -> Inject:
    def inject(s: Stage, channel: str) -> None:
        setattr(s.slack, attribute, getattr(s.slack, attribute) | {channel})

    return inject


def _console(kind: str, **options: float) -> Inject:
    return lambda s, _channel: s.console.inject_fault(kind, path_contains="progress", **options)  # type: ignore[arg-type]


def _console_401_forever(s: Stage, channel: str) -> None:
    """Every console request answers 401 for 8 poll cycles, then the console recovers."""
    s.console.inject_fault("401", count=1_000_000)
    before = len(s.console.requests)
    s.wait(lambda: len(s.console.requests) >= before + 8, channel=channel, timeout=60)
    s.console.clear_faults()


POST = "chat.postMessage"
FAULTS: dict[str, Fault] = {
    "slack-429": Fault(_slack(lambda s: s.slack.rate_limit_next(POST, retry_after=1, count=2))),
    "slack-accepted-then-500": Fault(_slack(lambda s: accept_then_fail_next(s.slack, POST))),
    "slack-reset": Fault(_slack(lambda s: reset_next(s.slack, POST))),
    "console-5xx": Fault(_console("5xx", count=6), on_parent=False),
}
SLOW_FAULTS: dict[str, Fault] = {
    "slack-503": Fault(_slack(lambda s: fail_http_next(s.slack, POST, status=503, count=3))),
    "slack-500-then-ok": Fault(_slack(lambda s: fail_http_next(s.slack, POST, status=500))),
    "slack-timeout-12s": Fault(_slack(lambda s: stall_next(s.slack, POST, 12.0)), timeout=120),
    "slack-invalid_blocks": Fault(
        _slack(lambda s: fail_next(s.slack, POST, error="invalid_blocks", count=3))
    ),
    "slack-channel_not_found": Fault(_gone("missing_channels"), False, channel_gone=True),
    "slack-is_archived": Fault(_gone("archived_channels"), False, channel_gone=True),
    "slack-account_inactive": Fault(
        _slack(lambda s: fail_next(s.slack, POST, error="account_inactive")), timeout=180
    ),
    "console-html": Fault(_console("html", count=4), on_parent=False),
    "console-timeout": Fault(_console("delay", count=3, delay_seconds=5.0), on_parent=False),
    "console-401-forever": Fault(_console_401_forever, on_parent=False, timeout=90),
    "console-reset": Fault(_console("reset", count=4), on_parent=False),
    "console-malformed": Fault(_console("malformed", count=4), on_parent=False),
    "console-429": Fault(_console("429", count=2, retry_after=3.0), on_parent=False),
}


@pytest.fixture(scope="module")
def on_stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    with stage(tmp_path_factory.mktemp("faults"), PRISMA_TIMEOUT_SECONDS="3") as running:
        yield running


def follow_through(s: Stage, name: str, fault: Fault) -> None:
    channel, image = f"C{name.upper()}", f"faults/{name}"
    slow_before = s.slow_acks
    s.start_scan(image)
    if fault.on_parent:
        fault.inject(s, channel)
    ack = s.follow(image, channel)
    assert ack is not None, "the follow was not acked within 3 s"
    assert "Looking up" in ack.text
    s.wait(lambda: s.parents(channel), channel=channel, timeout=fault.timeout)
    fault.inject(s, channel)
    s.finish_scans()
    if fault.channel_gone:
        s.wait(lambda: settled(s), channel=channel, timeout=fault.timeout)
    else:
        s.wait(lambda: s.completions(channel) >= 1, channel=channel, timeout=fault.timeout)
        s.wait(lambda: settled(s), channel=channel, timeout=fault.timeout)
    s.help_answers_now(channel)

    counts = s.counts(channel)
    print(f"{name}: {counts}")
    assert counts.parents == 1
    assert counts.completions == (0 if fault.channel_gone else 1)
    assert counts.slow_acks == slow_before
    assert s.help_answers_now(channel)
    assert "Traceback" not in s.log.read_text(errors="replace")


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_scan_followed_through_a_fault_is_told_once(on_stage: Stage, name: str) -> None:
    follow_through(on_stage, name, FAULTS[name])


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("name", sorted(SLOW_FAULTS))
def test_a_scan_followed_through_a_slow_fault_is_told_once(on_stage: Stage, name: str) -> None:
    follow_through(on_stage, name, SLOW_FAULTS[name])
