"""Builders for a completed scan's result told after "Scan complete": the result when the
console writes it late, or that it wrote none of this scan within the wait."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.console_types import ScanResult
from bot.domain.events import ResultArrived, ResultMissing
from bot.domain.results import severity_diff
from bot.slack.blocks_kit import (
    DASH,
    Block,
    actions,
    console_button,
    context,
    human_duration,
    image_code,
    image_plain,
    message,
    result_blocks,
    section,
)
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import slack_date


def result_notes(result: ScanResult, baseline: ScanResult | None) -> list[str]:
    """When ``result`` was scanned and how it differs from the image's previous result."""
    notes: list[str] = []
    if result.scan_time is not None:
        notes.append(f"Result of the scan at {slack_date(result.scan_time)}")
    if baseline is not None:
        when = f" ({slack_date(baseline.scan_time)})" if baseline.scan_time else ""
        notes.append(f"Since the previous result{when}: {severity_diff(baseline, result)}")
    else:
        notes.append("No previous result of this image to compare with")
    return notes


def pending_note(plain: str, wait: timedelta) -> str:
    """What the final reply says while this scan's result is not in the console yet."""
    return (
        "The console has not written the result of this scan yet (an older result is never "
        f"shown as new). It is added in this thread when it appears, for up to "
        f"{human_duration(wait)}; or run `/scanprogress {plain}` later."
    )


def result_arrived(event: ResultArrived) -> SlackMessage:
    """The result of the scan, in the thread, once the console wrote it."""
    image, plain = image_code(event.subject.target), image_plain(event.subject.target)
    blocks: list[Block] = [section(f":bar_chart: *Result of this scan* {DASH} {image}")]
    blocks.extend(result_blocks(event.result))
    blocks.append(context(*result_notes(event.result, event.baseline)))
    if event.console_link:
        blocks.append(actions(console_button(event.console_link)))
    vulns = event.result.vulnerabilities_count or event.result.vulnerabilities.total
    return message(f"Result of the scan of {plain}: {vulns} vulnerabilities", blocks)


def result_missing(event: ResultMissing) -> SlackMessage:
    """After the wait: the console has no result of this scan (an older one is not shown)."""
    image, plain = image_code(event.subject.target), image_plain(event.subject.target)
    text = (
        f":grey_question: The console has no result of this scan of {image} "
        f"{human_duration(event.waited)} after it completed."
    )
    older = event.older
    if older is not None and older.scan_time is not None:
        text += (
            f"\nIts latest result is older (scanned {slack_date(older.scan_time)}) and is not "
            "shown as this scan's."
        )
    blocks: list[Block] = [section(text)]
    blocks.append(
        context(f"Run `/scanprogress {plain}` later, or look for the image in the console.")
    )
    if event.console_link:
        blocks.append(actions(console_button(event.console_link)))
    return message(f"The console has no result of this scan of {plain}", blocks)
