"""Block Kit builders: golden files, Slack's limits, escaping of hostile and huge text.

Golden tests render each builder from fixed inputs and compare the JSON exactly with
``tests/slack/golden/<case>.json``.  After an intended change to a message, regenerate
the files and review the diff::

    SCANBOT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/slack/test_blocks.py
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.console_types import ProgressEntry, ScanResult
from bot.domain.events import (
    Estimate,
    ImageFollow,
    ParentView,
    RegistryErrors,
    RegularCompleted,
    RegularScanFollow,
    ResultArrived,
    ResultMissing,
    Resumed,
    Stalled,
)
from bot.domain.images import ScanTarget
from bot.domain.progress import Phase, ProgressSnapshot, snapshot
from bot.domain.steps import Step
from bot.domain.watch import WatchState
from bot.ops.report import CheckReport, Finding, Status
from bot.slack import blocks
from bot.slack.blocks_kit import message
from bot.slack.message import SlackMessage
from tests.slack.block_samples import (
    ALPINE,
    COMPLETE,
    DISCOVERING,
    FAILED,
    HOSTILE,
    NOW,
    PRIVATE,
    RESULT,
    SCANNING,
    snap_of,
    watch,
)
from tests.slack.blockkit import all_texts, block_kit_problems, unsafe_markup

GOLDEN = Path(__file__).parent / "golden"


def blocks_step(total: int, scanned: int, title: str) -> Step:
    return Step(total=total, scanned=scanned, title=title)


def _regular_running() -> SlackMessage:
    entries = [
        ProgressEntry(
            discovery=Step(total=4, scanned=4, title="Discovered tags in 4/4 repos"),
            image_scan=Step(total=6, scanned=2, title="Scanned 2/6 images"),
            is_scan_ongoing=True,
        ),
        ProgressEntry(
            discovery=Step(total=2, scanned=2),
            image_scan=Step(total=4, scanned=1),
            is_scan_ongoing=False,
        ),
    ]
    return blocks.regular_scan(snapshot(entries), now=NOW)


REGULAR = RegularScanFollow(run_id=3, channel_id="C0SUB", scan_key="1795796291", since=NOW)
_TWO_REGISTRIES = ProgressSnapshot(
    phase=Phase.SCANNING,
    discovery=blocks_step(4, 4, "Step 1/2 discovering tags in registries a.example, b.example"),
    image_scan=blocks_step(6, 2, "Step 2/2 scanning images in registries a.example, b.example: x"),
)
_OLDER = ScanResult(
    image=RESULT.image,
    vulnerabilities=type(RESULT.vulnerabilities)(critical=0, high=9, medium=1, low=0, total=10),
    scan_time=NOW - timedelta(days=2),
)
NEW_CASES: dict[str, Callable[[], SlackMessage]] = {
    "regular_parent_running": lambda: blocks.regular_parent(
        ParentView(
            REGULAR,
            WatchState.ACTIVE,
            _TWO_REGISTRIES,
            NOW,
            estimate=Estimate(per_minute=4.0, remaining=timedelta(minutes=12)),
        )
    ),
    "regular_parent_complete": lambda: blocks.regular_parent(
        ParentView(REGULAR, WatchState.COMPLETED, COMPLETE, NOW)
    ),
    "regular_complete": lambda: blocks.regular_complete(
        RegularCompleted(
            REGULAR, COMPLETE, duration=timedelta(minutes=42), errors=("No available Defender",)
        )
    ),
    "registry_errors": lambda: blocks.registry_errors(
        RegistryErrors(REGULAR, ("No available Defender was found",))
    ),
    "stalled_watch": lambda: blocks.stalled(
        Stalled(
            ImageFollow.of(watch()),
            SCANNING,
            stalled_for=timedelta(minutes=30),
            cause="No available Defender was found",
        )
    ),
    "resumed_regular": lambda: blocks.resumed(
        Resumed(REGULAR, SCANNING, stalled_for=timedelta(minutes=31))
    ),
    "scan_complete_with_diff": lambda: blocks.scan_complete(
        ImageFollow.of(watch(WatchState.COMPLETED)),
        COMPLETE,
        duration=timedelta(minutes=3),
        result=RESULT,
        baseline=_OLDER,
        console_link="https://console.example.com/#!/monitor?search=a&b",
    ),
    "scan_complete_stale": lambda: blocks.scan_complete(
        ImageFollow.of(watch(WatchState.COMPLETED)),
        COMPLETE,
        duration=timedelta(minutes=3),
        result=None,
        fresh=False,
    ),
    "scan_complete_result_pending": lambda: blocks.scan_complete(
        ImageFollow.of(watch(WatchState.COMPLETED)),
        COMPLETE,
        duration=timedelta(minutes=3),
        result=None,
        fresh=False,
        result_wait=timedelta(minutes=10),
    ),
    "result_arrived": lambda: blocks.result_arrived(
        ResultArrived(
            ImageFollow.of(watch(WatchState.COMPLETED)),
            RESULT,
            baseline=_OLDER,
            console_link="https://console.example.com/#!/monitor?search=a&b",
        )
    ),
    "result_missing": lambda: blocks.result_missing(
        ResultMissing(
            ImageFollow.of(watch(WatchState.COMPLETED)), timedelta(minutes=10), older=_OLDER
        )
    ),
    "no_scan_in_progress_scan_now": lambda: blocks.no_scan_in_progress(ALPINE, can_scan=True),
    "scan_refused": lambda: blocks.scan_refused("U0BOB", "C0123ABC"),
    "subscribed": lambda: blocks.subscribed("C0SUB", already=False),
    "unsubscribed_setting": lambda: blocks.unsubscribed("C0SUB", removed=True, from_setting=True),
    "stop_refused": lambda: blocks.stop_refused("U0ALICE"),
    "subscriptions_full": lambda: blocks.subscriptions_full(50),
    "member_status": lambda: blocks.member_status(
        CheckReport(findings=(Finding("console", Status.WARNING, "console slow", "slow"),)),
        channel_id="C0123ABC",
        channel_watches=2,
        subscribed=True,
        now=NOW,
    ),
    "channel_subscription": lambda: blocks.channel_subscription("C0SUB", subscribed=False),
    "interrupted_at_restart": blocks.interrupted_at_restart,
}
CASES: dict[str, Callable[[], SlackMessage]] = {
    "watch_parent_discovering": lambda: blocks.watch_parent(
        ParentView.of(watch(), DISCOVERING, now=NOW)
    ),
    "watch_parent_scanning_error": lambda: blocks.watch_parent(
        ParentView.of(watch(), snap_of((1, 1), (10, 3), error="Defender disconnected"), now=NOW)
    ),
    "watch_parent_completed": lambda: blocks.watch_parent(
        ParentView.of(watch(WatchState.COMPLETED), COMPLETE, now=NOW)
    ),
    "watch_parent_stopped": lambda: blocks.watch_parent(
        ParentView.of(watch(WatchState.STOPPED), SCANNING, now=NOW)
    ),
    "watch_parent_expired": lambda: blocks.watch_parent(
        ParentView.of(watch(WatchState.EXPIRED), SCANNING, now=NOW)
    ),
    "thread_update_first": lambda: blocks.thread_update(ImageFollow.of(watch()), None, DISCOVERING),
    "thread_update_discovery_finished": lambda: blocks.thread_update(
        ImageFollow.of(watch()), DISCOVERING, snap_of((1, 1), (10, 0))
    ),
    "thread_update_counts": lambda: blocks.thread_update(
        ImageFollow.of(watch()), snap_of((1, 1), (10, 1)), SCANNING
    ),
    "thread_update_error": lambda: blocks.thread_update(
        ImageFollow.of(watch()), SCANNING, snap_of((1, 1), (10, 3), error="Defender disconnected")
    ),
    "scan_complete_with_result": lambda: blocks.scan_complete(
        ImageFollow.of(watch(WatchState.COMPLETED)),
        COMPLETE,
        duration=timedelta(seconds=252),
        result=RESULT,
    ),
    "scan_complete_without_result": lambda: blocks.scan_complete(
        ImageFollow.of(watch(WatchState.COMPLETED)),
        COMPLETE,
        duration=timedelta(seconds=45),
        result=None,
    ),
    "scan_complete_failed": lambda: blocks.scan_complete(
        ImageFollow.of(watch(WatchState.COMPLETED)),
        FAILED,
        duration=timedelta(hours=1, minutes=3),
        result=None,
    ),
    "watch_expired": lambda: blocks.watch_expired(
        ImageFollow.of(watch(WatchState.EXPIRED)), SCANNING, max_duration=timedelta(hours=6)
    ),
    "watch_stopped": lambda: blocks.watch_stopped(
        ImageFollow.of(watch(WatchState.STOPPED)), by_user="W0STOPPER"
    ),
    "regular_scan_running": _regular_running,
    "regular_scan_idle": lambda: blocks.regular_scan(snapshot([]), now=NOW),
    "regular_scan_complete": lambda: blocks.regular_scan(COMPLETE, now=NOW),
    "regular_scan_failed": lambda: blocks.regular_scan(FAILED, now=NOW),
    "no_scan_in_progress": lambda: blocks.no_scan_in_progress(PRIVATE),
    "scan_just_finished": lambda: blocks.scan_just_finished(ALPINE, COMPLETE, result=RESULT),
    "scan_just_finished_failed": lambda: blocks.scan_just_finished(ALPINE, FAILED, result=None),
    "follow_ack": lambda: blocks.follow_ack(ALPINE),
    "already_watching": lambda: blocks.already_watching(watch()),
    "watch_list": lambda: blocks.watch_list(
        [
            watch(),
            watch(
                target=PRIVATE, snap=None, watch_id=8, requester="U0OTHER", age=timedelta(hours=3)
            ),
        ],
        now=NOW,
    ),
    "watch_list_empty": lambda: blocks.watch_list([], now=NOW),
    "help_text": blocks.help_text,
    "error_message": lambda: blocks.error_message(
        "alpine:: is not an image reference", "Try /scanprogress alpine:3.16"
    ),
    "not_in_channel": lambda: blocks.not_in_channel("C0123ABC"),
    **NEW_CASES,
}


def as_json(msg: SlackMessage) -> str:
    return json.dumps(msg.as_kwargs(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    """Each builder renders exactly its golden file (SCANBOT_UPDATE_GOLDEN=1 rewrites them)."""
    rendered = as_json(CASES[case]())
    path = GOLDEN / f"{case}.json"
    if os.environ.get("SCANBOT_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"missing {path}; run with SCANBOT_UPDATE_GOLDEN=1"
    assert rendered == path.read_text(encoding="utf-8")


def test_every_golden_file_belongs_to_a_case() -> None:
    assert {p.stem for p in GOLDEN.glob("*.json")} == set(CASES)


# --- Block Kit limits -------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_messages_respect_block_kit_limits_and_escaping(case: str) -> None:
    msg = CASES[case]()
    assert block_kit_problems(msg) == []
    for text in all_texts(msg):
        assert unsafe_markup(text) == [], text


def test_validator_notices_broken_messages() -> None:
    broken = SlackMessage(
        text=" ",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "b" * 76},
                        "action_id": "a",
                        "value": "v" * 2001,
                    }
                ],
            },
            {"type": "video"},
        ],
    )
    assert len(block_kit_problems(broken)) == 7
    assert unsafe_markup("<!channel> a&b <@U123> &amp;") == ["<", ">", "&"]


# --- hostile and huge input ----------------------------------------------------------------


def every_builder(
    snap: ProgressSnapshot, target: ScanTarget, text: str, requester: str
) -> list[SlackMessage]:
    """Every builder fed with ``snap``, ``target``, ``text`` and ``requester``."""
    result = ScanResult(image=text, error=text)
    messages = [blocks.regular_scan(snap, now=NOW)]
    for state in WatchState:
        w = watch(state, target=target, snap=snap, requester=requester)
        messages += [
            blocks.watch_parent(ParentView.of(w, snap, now=NOW)),
            blocks.thread_update(ImageFollow.of(w), None, snap),
            blocks.thread_update(ImageFollow.of(w), ProgressSnapshot(phase=Phase.SCANNING), snap),
            blocks.scan_complete(
                ImageFollow.of(w), snap, duration=timedelta(minutes=3), result=result
            ),
            blocks.watch_expired(
                ImageFollow.of(w), w.last_snapshot, max_duration=timedelta(hours=1)
            ),
            blocks.watch_stopped(ImageFollow.of(w), by_user=requester),
            blocks.already_watching(w),
        ]
    messages += [
        blocks.watch_list([watch(target=target, snap=snap, requester=requester)] * 60, now=NOW),
        blocks.no_scan_in_progress(target),
        blocks.scan_just_finished(target, snap, result=result),
        blocks.follow_ack(target),
        blocks.help_text(text),
        blocks.error_message(text, text),
        blocks.not_in_channel(text),
    ]
    return messages


def hostile_snapshot(text: str, *, ongoing: bool) -> ProgressSnapshot:
    step = Step(total=3, scanned=1, title=text, error=text)
    return snapshot([ProgressEntry(discovery=step, image_scan=step, is_scan_ongoing=ongoing)])


@pytest.mark.parametrize("ongoing", [True, False])
@pytest.mark.parametrize("repeat", [1, 2000])
def test_hostile_text_is_escaped_everywhere(ongoing: bool, repeat: int) -> None:
    """A console title ``<!channel> & <@U1>`` never reaches Slack unescaped, however long."""
    text = HOSTILE * repeat
    target = ScanTarget(repo=text, tag=HOSTILE)
    for msg in every_builder(hostile_snapshot(text, ongoing=ongoing), target, text, HOSTILE):
        assert block_kit_problems(msg) == []
        for shown in all_texts(msg):
            assert "<!channel>" not in shown
            assert "<@U1>" not in shown
            assert unsafe_markup(shown) == [], shown
        assert "&lt;!channel&gt;" in msg.text or "&lt;!channel&gt;" in json.dumps(msg.blocks)


@settings(max_examples=30, deadline=None)
@given(
    piece=st.text(max_size=40),
    repeat=st.integers(min_value=1, max_value=300),
    requester=st.sampled_from(["U123ABC", "", HOSTILE, "w0lower"]),
    ongoing=st.booleans(),
)
def test_any_text_gives_valid_safe_messages(
    piece: str, repeat: int, requester: str, ongoing: bool
) -> None:
    text = piece * repeat
    target = ScanTarget(repo=text or "r", digest=piece or "d")
    for msg in every_builder(hostile_snapshot(text, ongoing=ongoing), target, text, requester):
        assert block_kit_problems(msg) == []
        for shown in all_texts(msg):
            assert unsafe_markup(shown) == [], shown


def test_message_refuses_more_than_fifty_blocks_and_never_sends_empty_text() -> None:
    with pytest.raises(ValueError, match="50"):
        message("x", [{"type": "divider"}] * 51)
    assert message("   ", []).text


TRICKS = "<http://evil.example|click here> *bold* _it_ @here `code` ~s~ :skull: > quote"


@pytest.mark.parametrize("ongoing", [True, False])
def test_link_bold_and_mention_tricks_in_console_text_stay_inert_everywhere(ongoing: bool) -> None:
    """Console or user text with Slack's link, formatting and mention syntax is shown as
    text: outside code spans no ``<``, no formatting mark, no bare mention remains, and
    every code span is closed (no backtick left over to open one)."""
    target = ScanTarget(repo="team/app", tag="1.0", registry="registry.example.com:5000")
    for msg in every_builder(hostile_snapshot(TRICKS, ongoing=ongoing), target, TRICKS, TRICKS):
        for shown in all_texts(msg):
            assert unsafe_markup(shown) == [], shown
            assert "<http" not in shown
            for line in shown.split("\n"):
                assert line.count("`") % 2 == 0, line
                outside = re.sub(r"`[^`]*`", " ", line)
                for trick in ("*bold*", "_it_", "~s~", ":skull:", "@here", "http:"):
                    assert trick not in outside, line
