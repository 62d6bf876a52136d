"""Block Kit builders: what each message says (buttons, states, counts, examples, time)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.domain.events import ImageFollow, ParentView
from bot.domain.progress import ProgressSnapshot, snapshot
from bot.domain.watch import WatchState
from bot.slack import blocks
from bot.slack.blocks_kit import human_duration, relative
from bot.slack.message import SlackMessage
from tests.slack.block_samples import (
    ALPINE,
    COMPLETE,
    DISCOVERING,
    FAILED,
    NOW,
    RESULT,
    SCANNING,
    snap_of,
    watch,
)


def _blob(msg: SlackMessage) -> str:
    return msg.text + json.dumps(msg.blocks, ensure_ascii=False)


def test_open_watch_parent_has_the_stop_button() -> None:
    for state in (WatchState.PENDING, WatchState.ACTIVE):
        msg = blocks.watch_parent(ParentView.of(watch(state, watch_id=42), SCANNING, now=NOW))
        (actions,) = [b for b in msg.blocks if b["type"] == "actions"]
        (button,) = actions["elements"]
        assert button["action_id"] == blocks.STOP_WATCH_ACTION == "stop_watch"
        assert button["value"] == "42"


@pytest.mark.parametrize(
    ("state", "snap", "status"),
    [
        (WatchState.COMPLETED, COMPLETE, "Scan complete"),
        (WatchState.COMPLETED, FAILED, "Scan finished with an error"),
        (WatchState.STOPPED, SCANNING, "Stopped following this scan"),
        (WatchState.EXPIRED, SCANNING, "time limit was reached"),
        (WatchState.FAILED, SCANNING, "Could not follow this scan"),
    ],
)
def test_final_watch_parent_has_no_button_and_names_the_final_state(
    state: WatchState, snap: ProgressSnapshot, status: str
) -> None:
    msg = blocks.watch_parent(ParentView.of(watch(state), snap, now=NOW))
    assert all(b["type"] != "actions" for b in msg.blocks)
    assert status in msg.blocks[1]["text"]["text"]
    assert status in msg.text


def test_watch_parent_shows_counts_bars_titles_requester_and_time() -> None:
    blob = _blob(blocks.watch_parent(ParentView.of(watch(), SCANNING, now=NOW)))
    for expected in (
        "1/1 repositories (100%)",
        "3/10 images (30%)",
        "\u2588\u2588\u2588\u2591",
        "<@U123ABC>",
    ):
        assert expected in blob
    assert "Scanning images in repository: library/alpine" in blob
    msg = blocks.watch_parent(ParentView.of(watch(), SCANNING, now=NOW))
    steps = [b["text"]["text"] for b in msg.blocks if "Image scan*" in str(b)]
    assert steps[0].count("Step 2/2") == 1  # the console's own "Step 2/2" is not said again
    assert f"<!date^{int(NOW.timestamp())}^" in blob


def test_a_step_that_has_not_started_shows_no_title() -> None:
    """Fails before: step 2's title ("Step 2/2 scanning images …") showed while discovery
    was still running."""
    discovering = snap_of((4, 1), (0, 0))
    blob = _blob(blocks.watch_parent(ParentView.of(watch(), discovering, now=NOW)))
    assert "Discovering tags in repository" in blob
    assert "canning images in" not in blob


def test_scan_complete_mentions_requester_duration_counts_and_severities() -> None:
    msg = blocks.scan_complete(
        ImageFollow.of(watch()), COMPLETE, duration=timedelta(seconds=252), result=RESULT
    )
    blob = _blob(msg)
    assert "complete" in msg.text.lower()
    assert "<@U123ABC>" in msg.text
    for expected in ("4 min 12 s", "10/10 images scanned", "1 critical", "4 high", "7 medium"):
        assert expected in blob
    assert "14 in total" in blob
    assert "Compliance" in blob


def test_scan_complete_failed_says_so_with_the_error_and_mention() -> None:
    msg = blocks.scan_complete(
        ImageFollow.of(watch()), FAILED, duration=timedelta(seconds=5), result=RESULT
    )
    assert "Scan finished with an error" in _blob(msg)
    assert "failed to pull image: unauthorized" in msg.text
    assert "<@U123ABC>" in msg.text


@pytest.mark.parametrize(
    ("previous", "snap", "expected"),
    [
        (DISCOVERING, snap_of((1, 1), (10, 0)), "Discovery finished, scanning 10 images"),
        (snap_of((1, 1), (10, 1)), SCANNING, "Scanned 3/10 images (30%)"),
        (SCANNING, snap_of((1, 1), (10, 3), error="boom"), "The console reports an error: boom"),
        (None, DISCOVERING, "discovering tags"),
    ],
)
def test_thread_update_says_what_changed(
    previous: ProgressSnapshot | None, snap: ProgressSnapshot, expected: str
) -> None:
    msg = blocks.thread_update(ImageFollow.of(watch()), previous, snap)
    assert expected in msg.text
    assert expected in msg.blocks[0]["text"]["text"]


def test_regular_scan_idle_and_finished() -> None:
    idle = blocks.regular_scan(snapshot([]), now=NOW)
    assert "No regular registry scan is running" in idle.text
    done = blocks.regular_scan(COMPLETE, now=NOW)
    assert "No regular registry scan is running" in done.text
    assert "10/10 images scanned" in done.text


def test_watch_list_caps_the_number_of_blocks() -> None:
    msg = blocks.watch_list([watch(watch_id=i) for i in range(60)], now=NOW)
    assert len(msg.blocks) <= 50
    assert "15 more" in _blob(msg)
    assert msg.text.startswith("60 scans followed in this channel")


def test_no_scan_in_progress_explains_how_to_start_one_in_a_few_words() -> None:
    blob = _blob(blocks.no_scan_in_progress(ALPINE))
    for expected in ("Registries", "*Scan*", "`/scanprogress alpine:3.16`"):
        assert expected in blob
    assert "onDemandScan" not in blob  # no API JSON in chat
    assert "*Scan now*" in _blob(blocks.no_scan_in_progress(ALPINE, can_scan=True))


def test_help_text_covers_every_form() -> None:
    blob = _blob(blocks.help_text("/scan"))
    for example in (
        "`/scan alpine 3.16`",
        "`/scan alpine:3.16`",
        "registry.example.com:5000/team/app:1.2",
        "alpine@sha256:",
        "repo=team/app tag=1.2 registry=",
        "`/scan list`",
        "`/scan stop alpine:3.16`",
        "`/scan help`",
        "`/scan` \u2014 progress of the regular",
    ):
        assert example in blob


def test_not_in_channel_explains_the_invite() -> None:
    msg = blocks.not_in_channel("C0123ABC")
    assert "/invite @scanbot" in msg.text
    assert "<#C0123ABC>" in msg.blocks[0]["text"]["text"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (12, "12 s"),
        (60, "1 min"),
        (252, "4 min 12 s"),
        (3600, "1 h"),
        (3840, "1 h 4 min"),
        (86_400 * 2 + 3 * 3600 + 5, "2 d 3 h"),
        (-5, "0 s"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=30), "just now"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=3), "3 h ago"),
        (timedelta(days=2), "2 d ago"),
        (-timedelta(minutes=1), "just now"),
    ],
)
def test_relative(ago: timedelta, text: str) -> None:
    assert relative(NOW - ago, NOW) == text


def test_scan_just_finished_gives_the_outcome_of_a_scan_that_ended_before_following() -> None:
    done = _blob(blocks.scan_just_finished(ALPINE, COMPLETE, result=RESULT))
    assert "is complete" in done
    assert "10/10 images scanned" in done
    assert "1 critical" in done
    failed = blocks.scan_just_finished(ALPINE, FAILED, result=None)
    assert "failed to pull image: unauthorized" in failed.text
    assert "finished with an error" in failed.text
