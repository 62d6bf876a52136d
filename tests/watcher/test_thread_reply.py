"""When a followed thread gets a reply: the one rule for watches and regular runs (unit)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.config.settings import load_settings
from bot.domain.events import ImageFollow, PhaseChanged, Progressed, RegularScanFollow, Subject
from bot.domain.images import ScanTarget
from bot.domain.ports import ThreadState
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.steps import Step
from bot.store import Store
from bot.watcher.context import WatchContext, thread_reply
from bot.watcher.services import Services
from tests.support.fake_console import StubConsole

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SUBJECTS: list[Subject] = [
    ImageFollow(1, ScanTarget(repo="library/alpine", tag="3.16"), "U1", since=T0),
    RegularScanFollow(2, "C1", "1767603600", since=T0),
]


class NoDelivery:
    def kick(self) -> None:
        return None

    def deliver_now(self, thread_key: str) -> ThreadState:
        return ThreadState.DELIVERED


@pytest.fixture
def ctx() -> Iterator[WatchContext]:
    store = Store("sqlite:///:memory:")
    settings = load_settings({}, scanbot_thread_update_seconds=60)
    yield WatchContext(Services(settings, StubConsole(), store), NoDelivery())
    store.close()


def scanning(scanned: int, title: str = "Step 2/2 scanning images") -> ProgressSnapshot:
    return ProgressSnapshot(
        phase=Phase.SCANNING, image_scan=Step(total=10, scanned=scanned, title=title)
    )


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_new_phase_or_error_is_told_at_once(ctx: WatchContext, subject: Subject) -> None:
    discovering = ProgressSnapshot(phase=Phase.DISCOVERING)
    failed = ProgressSnapshot(phase=Phase.SCANNING, error="registry unreachable")
    for previous, snap in ((discovering, scanning(1)), (scanning(1), failed), (None, scanning(1))):
        reply = thread_reply(ctx, subject, previous, snap, last_reply_at=T0, now=T0)
        assert reply == PhaseChanged(subject, previous, snap)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_progress_is_told_at_most_once_per_thread_update_interval(
    ctx: WatchContext, subject: Subject
) -> None:
    early = T0 + timedelta(seconds=59)
    assert thread_reply(ctx, subject, scanning(1), scanning(2), last_reply_at=T0, now=early) is None
    due = T0 + timedelta(seconds=60)
    reply = thread_reply(ctx, subject, scanning(1), scanning(2), last_reply_at=T0, now=due)
    assert reply == Progressed(subject, scanning(1), scanning(2))


def test_a_change_of_what_the_registries_do_is_a_turning_point(ctx: WatchContext) -> None:
    one = scanning(1, "Step 2/2 scanning images in registries a.example, b.example: 1/10")
    other = scanning(2, "Step 2/2 scanning images in registries a.example, c.example: 2/10")
    reply = thread_reply(ctx, SUBJECTS[1], one, other, last_reply_at=T0, now=T0)
    assert isinstance(reply, PhaseChanged)
