"""Golden tests of the on-call messages: ``/scanprogress status`` and the digest.

The files live in ``tests/slack/golden/ops/``; after an intended change regenerate them with
``SCANBOT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/slack/test_blocks_ops.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.console_types import RegistryStatus
from bot.domain.images import ScanTarget
from bot.domain.watch import WatchState
from bot.ops.report import CheckReport, Finding, Status
from bot.ops.status import gather_status
from bot.process.health import HealthState
from bot.slack.blocks_digest import digest_message
from bot.slack.blocks_status import status_message
from bot.slack.message import SlackMessage
from bot.watcher.digest import Digest
from tests.slack.block_samples import (
    COMPLETE,
    FAILED,
    HOSTILE,
    NOW,
    PRIVATE,
    SCANNING,
    snap_of,
    watch,
)
from tests.slack.blockkit import all_texts, block_kit_problems, unsafe_markup
from tests.support.fake_console import StubConsole

GOLDEN = Path(__file__).parent / "golden" / "ops"


class HealthyConsole(StubConsole):
    def registry_status(self) -> RegistryStatus:
        return RegistryStatus(completed_at=NOW - timedelta(hours=3), scanning=False)


def _status_healthy() -> SlackMessage:
    health = HealthState(
        started_at=NOW - timedelta(hours=1),
        last_cycle_at=NOW - timedelta(seconds=20),
        last_cycle_ok=True,
        last_cycle_seconds=0.4,
        last_success_at=NOW - timedelta(seconds=20),
        console_auth_ok=True,
        last_error="console registry/progress: the console answered HTTP 503",
        last_error_at=NOW - timedelta(minutes=30),
    )
    ticks = iter([0.0, 0.045])
    report = gather_status(
        HealthyConsole(),
        now=NOW,
        open_watches=2,
        subscriptions=1,
        health=health,
        timer=lambda: next(ticks),
    )
    return status_message(report, now=NOW)


def _status_auth_failed() -> SlackMessage:
    report = CheckReport(
        findings=(
            Finding("console", Status.OK, "console reachable in 12 ms"),
            Finding("auth", Status.CRITICAL, "auth failed", "the console rejected PRISMA_USER"),
            Finding("watches", Status.OK, "0 open watches"),
            Finding("poll", Status.WARNING, "last poll cycle failed 2 min ago", "boom"),
        )
    )
    return status_message(report, now=NOW)


def _digest(**changes: object) -> Digest:
    values: dict[str, object] = {
        "since": NOW - timedelta(days=1),
        "now": NOW,
        "timezone": "Europe/Berlin",
        "completed": (watch(WatchState.COMPLETED, snap=COMPLETE),),
        "failed": (watch(WatchState.COMPLETED, target=PRIVATE, snap=FAILED, watch_id=8),),
        "stalled": (watch(WatchState.EXPIRED, watch_id=9),),
        "stopped": 1,
        "running": (watch(snap=SCANNING, watch_id=10, age=timedelta(minutes=40)),),
        "registry": RegistryStatus(
            completed_at=NOW - timedelta(hours=5), errors=("registry timeout",), scanning=False
        ),
    }
    values.update(changes)
    return Digest(**values)  # type: ignore[arg-type]


CASES: dict[str, Callable[[], SlackMessage]] = {
    "status_healthy": _status_healthy,
    "status_auth_failed": _status_auth_failed,
    "digest_busy": lambda: digest_message(_digest()),
    "digest_quiet": lambda: digest_message(
        _digest(
            completed=(),
            failed=(),
            stalled=(),
            stopped=0,
            running=(),
            registry=None,
            registry_error="the console could not be reached",
        )
    ),
}


def as_json(msg: SlackMessage) -> str:
    return json.dumps(msg.as_kwargs(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    """Each on-call message renders exactly its golden file."""
    msg = CASES[case]()
    assert block_kit_problems(msg) == []
    rendered = as_json(msg)
    path = GOLDEN / f"{case}.json"
    if os.environ.get("SCANBOT_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"missing {path}; run with SCANBOT_UPDATE_GOLDEN=1"
    assert rendered == path.read_text(encoding="utf-8")


def test_every_ops_golden_file_belongs_to_a_case() -> None:
    assert {p.stem for p in GOLDEN.glob("*.json")} == set(CASES)


def test_the_digest_states_its_time_zone_and_shows_times_in_it() -> None:
    msg = digest_message(_digest())
    assert "Europe/Berlin" in msg.text
    shown = json.dumps(msg.blocks)
    assert "Wed 01 May 14:00 (Europe/Berlin)" in shown  # 12:00 UTC is 14:00 in Berlin (CEST)


def test_hostile_console_and_image_text_is_escaped_in_on_call_messages() -> None:
    failed = snap_of((1, 1), (10, 4), ongoing=False, error=HOSTILE * 50)
    hostile = watch(WatchState.COMPLETED, target=ScanTarget(repo="r", tag=HOSTILE), snap=failed)
    digest = _digest(
        failed=(hostile,),
        registry=RegistryStatus(completed_at=NOW, errors=(HOSTILE * 50,)),
    )
    report = CheckReport(findings=(Finding("last_error", Status.OK, "last error", HOSTILE * 50),))
    for msg in (digest_message(digest), status_message(report, now=NOW)):
        assert block_kit_problems(msg) == []
        for shown in all_texts(msg):
            assert "<!channel>" not in shown
            assert unsafe_markup(shown) == [], shown


def test_the_last_error_has_no_green_tick() -> None:
    """Fails before: "Last error" was shown with :white_check_mark:, as if it passed."""
    report = CheckReport(
        findings=(
            Finding("console", Status.OK, "console reachable"),
            Finding("last_error", Status.OK, "last error 5 min ago", "boom"),
        )
    )
    text = json.dumps(status_message(report, now=NOW).blocks)
    assert ":information_source: *Last error:*" in text
    assert ":white_check_mark: *Last error" not in text
