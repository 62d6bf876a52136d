"""Block Kit builders of what a subscribed channel hears: levels, mentions, snooze, and the
result told after "Scan complete".  Golden files in ``tests/slack/golden_channels``
(``SCANBOT_UPDATE_GOLDEN=1`` rewrites them; review the diff)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.domain.events import (
    ParentView,
    RegistryErrors,
    RegularCompleted,
    RegularOverdue,
    RegularScanFollow,
    Stalled,
)
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.regular import Level, Subscription
from bot.domain.watch import WatchState
from bot.slack import blocks
from bot.slack.message import SlackMessage
from tests.slack.block_samples import COMPLETE, FAILED, HOSTILE, NOW, SCANNING
from tests.slack.blockkit import all_texts, block_kit_problems, unsafe_markup

GOLDEN = Path(__file__).parent / "golden_channels"
REGULAR = RegularScanFollow(run_id=3, channel_id="C0SUB", scan_key="1795796291", since=NOW)
ONCALL = "<!subteam^S0ONCALL>"
IDLE = ProgressSnapshot(phase=Phase.IDLE)

CHANNEL_CASES: dict[str, Callable[[], SlackMessage]] = {
    "subscribed_quiet_mention": lambda: blocks.subscribed(
        "C0SUB", already=False, level=Level.QUIET, mention=ONCALL
    ),
    "subscribed_again_verbose": lambda: blocks.subscribed(
        "C0SUB", already=True, level=Level.VERBOSE
    ),
    "subscription_refused": lambda: blocks.subscription_refused(
        "U0BOB", from_setting=False, admins_set=True
    ),
    "subscription_refused_setting": lambda: blocks.subscription_refused(
        "U0BOB", from_setting=True, admins_set=False
    ),
    "subscription_list_levels": lambda: blocks.subscription_list(
        [
            Subscription(
                "C0SUB",
                "U0ALICE",
                "command",
                NOW - timedelta(days=1),
                Level.QUIET,
                ONCALL,
                snoozed_until=NOW + timedelta(hours=1),
                snoozed_by="U0ALICE",
            ),
            Subscription("C0OPS", "", "setting", NOW - timedelta(days=9)),
        ],
        "C0SUB",
        now=NOW,
    ),
    "stalled_regular_mention": lambda: blocks.stalled(
        Stalled(REGULAR, SCANNING, stalled_for=timedelta(minutes=30), mention="<@U0ONCALL>")
    ),
    "registry_errors_mention": lambda: blocks.registry_errors(
        RegistryErrors(REGULAR, ("No available Defender was found",), mention=ONCALL)
    ),
    "regular_failed_mention": lambda: blocks.regular_complete(
        RegularCompleted(
            REGULAR,
            FAILED,
            duration=timedelta(minutes=42),
            errors=("failed to pull image: unauthorized",),
            mention=ONCALL,
        )
    ),
    "regular_complete_no_mention": lambda: blocks.regular_complete(
        RegularCompleted(REGULAR, COMPLETE, duration=timedelta(minutes=42), mention=ONCALL)
    ),
    "snoozed": lambda: blocks.snoozed("C0SUB", until=NOW + timedelta(days=1), by_user="U0ALICE"),
    "unsnoozed": lambda: blocks.unsnoozed("C0SUB", was_snoozed=True),
    "not_subscribed": lambda: blocks.not_subscribed("C0SUB", "snooze"),
    "regular_overdue": lambda: blocks.parent_message(
        ParentView(
            RegularOverdue("C0SUB", NOW - timedelta(hours=50), timedelta(hours=48), mention=ONCALL),
            WatchState.ACTIVE,
            IDLE,
            NOW,
        )
    ),
    "regular_recovered": lambda: blocks.parent_message(
        ParentView(
            RegularOverdue(
                "C0SUB",
                NOW - timedelta(hours=50),
                timedelta(hours=48),
                recovered_at=NOW,
                mention=ONCALL,
            ),
            WatchState.COMPLETED,
            IDLE,
            NOW,
        )
    ),
}


def as_json(msg: SlackMessage) -> str:
    return json.dumps(msg.as_kwargs(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@pytest.mark.parametrize("case", sorted(CHANNEL_CASES))
def test_golden(case: str) -> None:
    """Each builder renders exactly its golden file."""
    rendered = as_json(CHANNEL_CASES[case]())
    path = GOLDEN / f"{case}.json"
    if os.environ.get("SCANBOT_UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert rendered == path.read_text()


def test_every_golden_file_belongs_to_a_case() -> None:
    assert {p.stem for p in GOLDEN.glob("*.json")} == set(CHANNEL_CASES)


@pytest.mark.parametrize("case", sorted(CHANNEL_CASES))
def test_messages_respect_block_kit_limits_and_escaping(case: str) -> None:
    msg = CHANNEL_CASES[case]()
    assert block_kit_problems(msg) == []
    assert all(unsafe_markup(text) == [] for text in all_texts(msg))


def test_a_success_never_pings_and_a_failure_pings_the_subscription_mention() -> None:
    success = json.dumps(CHANNEL_CASES["regular_complete_no_mention"]().as_kwargs())
    failure = json.dumps(CHANNEL_CASES["regular_failed_mention"]().as_kwargs())
    assert ONCALL not in success
    assert "Snooze" not in success
    assert ONCALL in failure
    assert "Snooze 1 h" in failure
    assert "Snooze 1 day" in failure


def test_the_recovery_pings_nobody() -> None:
    assert ONCALL in json.dumps(CHANNEL_CASES["regular_overdue"]().as_kwargs())
    assert ONCALL not in json.dumps(CHANNEL_CASES["regular_recovered"]().as_kwargs())


def test_a_stored_mention_that_is_not_a_mention_never_reaches_slack() -> None:
    """Stored text becomes a ping only in the two forms the parser accepts."""
    for hostile in (HOSTILE, "<!channel>", "<!here>", "<@U0X|x>"):
        msg = blocks.stalled(
            Stalled(REGULAR, SCANNING, stalled_for=timedelta(minutes=30), mention=hostile)
        )
        text = json.dumps(msg.as_kwargs())
        assert "<!channel>" not in text
        assert "<!here>" not in text
        assert "|x>" not in text
