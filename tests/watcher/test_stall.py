"""bot.watcher.stall: a stall is told once, its end once, measured in time followed, with
the likely cause from the console's error or the latest registry status error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config.settings import load_settings
from bot.console.errors import ConsoleError, ConsoleUnavailable
from bot.domain.console_types import ProgressEntry, RegistryStatus, ScanResult
from bot.domain.events import ImageFollow, Resumed, Stalled
from bot.domain.follow_state import FollowState
from bot.domain.images import ScanTarget
from bot.domain.owed import Kind
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.steps import Step
from bot.store import Store
from bot.watcher import stall
from bot.watcher.services import Services
from bot.watcher.stall import Change, check
from tests.support.fake_console import StubConsole

AFTER = 30 * 60.0  # SCANBOT_STALL_MINUTES=30
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SUBJECT = ImageFollow(
    watch_id=7, target=ScanTarget(repo="library/alpine", tag="3.16"), requester_id="U0A", since=T0
)
SNAP = ProgressSnapshot(phase=Phase.SCANNING, image_scan=Step(total=10, scanned=3))


class FakeConsole(StubConsole):
    """Answers ``registry_status`` with what a test sets; records how often it was asked."""

    def __init__(self, status: RegistryStatus | ConsoleError) -> None:
        self.status = status
        self.status_calls = 0

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]:
        raise AssertionError("a stall never asks for progress")

    def scan_result(self, target: ScanTarget) -> ScanResult | None:
        raise AssertionError("a stall never asks for results")

    def registry_status(self) -> RegistryStatus:
        self.status_calls += 1
        if isinstance(self.status, ConsoleError):
            raise self.status
        return self.status

    def trigger_scan(self, target: ScanTarget) -> None:
        raise AssertionError("a stall never starts scans")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    value = Store(f"sqlite:///{tmp_path}/t.db")
    yield value
    value.close()


def services(store: Store, console: FakeConsole) -> Services:
    settings = load_settings({"SCANBOT_STALL_MINUTES": "30"})
    return Services(settings=settings, console=console, store=store)


# --- check ------------------------------------------------------------------------------


def test_no_stall_before_the_stall_time_has_passed_without_movement() -> None:
    state, change = check(FollowState(), moved=False, followed=AFTER - 1, after_seconds=AFTER)
    assert change is Change.NONE
    assert not state.stalled


def test_a_stall_is_told_when_the_counts_have_not_moved_for_the_stall_time() -> None:
    state, change = check(FollowState(), moved=False, followed=AFTER, after_seconds=AFTER)
    assert change is Change.STALLED
    assert (state.stalled, state.stalls) == (True, 1)


def test_a_stall_is_told_once_however_long_it_lasts() -> None:
    state, _ = check(FollowState(), moved=False, followed=AFTER, after_seconds=AFTER)
    changes = []
    for followed in (AFTER + 15, AFTER * 2, AFTER * 10):
        state, change = check(state, moved=False, followed=followed, after_seconds=AFTER)
        changes.append(change)
    assert changes == [Change.NONE] * 3
    assert state.stalls == 1


def test_the_end_of_a_stall_is_told_once_when_the_counts_move_again() -> None:
    state, _ = check(FollowState(), moved=False, followed=AFTER, after_seconds=AFTER)
    state, change = check(state, moved=True, followed=AFTER + 60, after_seconds=AFTER)
    assert change is Change.RESUMED
    assert not state.stalled
    assert state.moved_after == AFTER + 60
    state, change = check(state, moved=True, followed=AFTER + 120, after_seconds=AFTER)
    assert change is Change.NONE


def test_movement_without_a_stall_changes_nothing_but_restarts_the_count() -> None:
    state, change = check(FollowState(), moved=True, followed=AFTER - 10, after_seconds=AFTER)
    assert change is Change.NONE
    state, change = check(state, moved=False, followed=AFTER + 10, after_seconds=AFTER)
    assert change is Change.NONE  # only 20 s without movement


def test_a_second_stall_is_counted_separately() -> None:
    state, _ = check(FollowState(), moved=False, followed=AFTER, after_seconds=AFTER)
    state, _ = check(state, moved=True, followed=AFTER + 1, after_seconds=AFTER)
    state, change = check(state, moved=False, followed=2 * AFTER + 1, after_seconds=AFTER)
    assert change is Change.STALLED
    assert state.stalls == 2


def test_stalls_are_measured_in_time_followed_not_wall_clock() -> None:
    """check() sees only the seconds followed: a wall clock stepped forward by hours between
    two polls cannot make a stall, as those seconds were never followed."""
    state, change = check(FollowState(), moved=False, followed=15.0, after_seconds=AFTER)
    assert change is Change.NONE
    state, change = check(state, moved=False, followed=30.0, after_seconds=AFTER)
    assert change is Change.NONE
    assert not state.stalled


# --- likely_cause -----------------------------------------------------------------------


def test_the_cause_is_the_consoles_error_text_first(store: Store) -> None:
    console = FakeConsole(RegistryStatus(errors=("registry x: 401",)))
    snap = ProgressSnapshot(phase=Phase.SCANNING, error="pull failed: manifest unknown")
    assert stall.likely_cause(services(store, console), snap) == "pull failed: manifest unknown"
    assert console.status_calls == 0


def test_without_a_console_error_the_cause_is_the_latest_registry_status_error(
    store: Store,
) -> None:
    console = FakeConsole(RegistryStatus(errors=("old error", "registry b.example: timeout")))
    assert stall.likely_cause(services(store, console), SNAP) == "registry b.example: timeout"


def test_without_any_error_the_cause_is_unknown(store: Store) -> None:
    assert stall.likely_cause(services(store, FakeConsole(RegistryStatus())), SNAP) == ""


def test_a_console_failure_while_looking_for_the_cause_leaves_it_unknown(store: Store) -> None:
    console = FakeConsole(ConsoleUnavailable("the console did not answer"))
    assert stall.likely_cause(services(store, console), SNAP) == ""


# --- replies ----------------------------------------------------------------------------


def test_a_stall_owes_one_reply_keyed_by_its_number_with_the_cause(store: Store) -> None:
    console = FakeConsole(RegistryStatus(errors=("registry b.example: timeout",)))
    before = FollowState(moved_after=100.0)
    after, change = check(before, moved=False, followed=100.0 + AFTER, after_seconds=AFTER)
    owed = stall.replies(
        services(store, console),
        change,
        thread_key="watch:7",
        channel_id="C0CHAN",
        subject=SUBJECT,
        snap=SNAP,
        before=before,
        after=after,
        followed=100.0 + AFTER,
    )
    assert [(o.key, o.kind, o.channel_id) for o in owed] == [
        ("watch:7:stalled:1", Kind.REPLY, "C0CHAN")
    ]
    assert owed[0].body == Stalled(
        SUBJECT, SNAP, stalled_for=timedelta(seconds=AFTER), cause="registry b.example: timeout"
    )


def test_the_end_of_a_stall_owes_one_reply_keyed_by_the_stall_it_ends(store: Store) -> None:
    console = FakeConsole(RegistryStatus())
    before = FollowState(moved_after=0.0, stalled=True, stalls=2)
    after, change = check(before, moved=True, followed=AFTER + 90, after_seconds=AFTER)
    owed = stall.replies(
        services(store, console),
        change,
        thread_key="watch:7",
        channel_id="C0CHAN",
        subject=SUBJECT,
        snap=SNAP,
        before=before,
        after=after,
        followed=AFTER + 90,
    )
    assert [o.key for o in owed] == ["watch:7:resumed:2"]
    assert owed[0].body == Resumed(SUBJECT, SNAP, stalled_for=timedelta(seconds=AFTER + 90))
    assert console.status_calls == 0


def test_no_change_owes_nothing(store: Store) -> None:
    console = FakeConsole(RegistryStatus(errors=("x",)))
    owed = stall.replies(
        services(store, console),
        Change.NONE,
        thread_key="watch:7",
        channel_id="C0CHAN",
        subject=SUBJECT,
        snap=SNAP,
        before=FollowState(),
        after=FollowState(),
        followed=10.0,
    )
    assert owed == []
    assert console.status_calls == 0


def test_the_stall_time_comes_from_the_settings(store: Store) -> None:
    assert stall.after_seconds(services(store, FakeConsole(RegistryStatus()))) == AFTER
