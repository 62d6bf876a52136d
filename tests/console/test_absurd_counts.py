"""Absurd counts from the console, from the raw JSON through the parser to what people see.

The parser clamps a count above ``MAX_ENTRY_COUNT`` (10^7); whatever it had to clamp, the
Slack message and the terminal say that the console's answer looked wrong.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.cli.terminal import render
from bot.console.models import parse_progress
from bot.domain.progress import SUSPICIOUS_NOTE, snapshot
from bot.domain.steps import MAX_ENTRY_COUNT
from bot.slack.blocks import regular_scan

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def raw_answer(image_total: object, *, image_scanned: object = 7) -> str:
    """One ongoing entry of ``GET /registry/progress`` as the console would send it."""
    return json.dumps(
        [
            {
                "discovery": {"total": 1, "scanned": 1, "title": "Step 1/2 discovering"},
                "imageScan": {
                    "total": image_total,
                    "scanned": image_scanned,
                    "title": "Step 2/2 scanning images",
                },
                "isScanOngoing": True,
                "specScanStartTime": "2026-01-02T03:00:00Z",
            }
        ]
    )


@pytest.mark.parametrize("total", [5_000_000_000, MAX_ENTRY_COUNT + 1, -3])
def test_a_count_the_parser_clamped_is_flagged_in_slack_and_in_the_terminal(total: int) -> None:
    """A total of 5 billion (or just above the parser's cap, or negative) is shown clamped,
    and both Slack and the terminal add that the console's answer looked wrong.

    Failed before the fix: the parser clamped 5 billion to 10^7 but the snapshot was marked
    suspicious only above 10^9, so it showed "7/10000000 (0%)" with no warning.
    """
    snap = snapshot(parse_progress(json.loads(raw_answer(total))))

    assert snap.suspicious
    message = regular_scan(snap, now=NOW)
    assert SUSPICIOUS_NOTE in message.text
    assert SUSPICIOUS_NOTE in json.dumps(message.blocks)
    terminal = render(snap, None)
    assert SUSPICIOUS_NOTE in terminal[0]
    if total > MAX_ENTRY_COUNT:
        assert "7/10000000 (0%)" in terminal[0]


def test_believable_counts_carry_no_warning() -> None:
    """The largest believable count passes through unflagged."""
    snap = snapshot(parse_progress(json.loads(raw_answer(MAX_ENTRY_COUNT))))

    assert not snap.suspicious
    assert SUSPICIOUS_NOTE not in json.dumps(regular_scan(snap, now=NOW).as_kwargs())
    assert SUSPICIOUS_NOTE not in "\n".join(render(snap, None))
