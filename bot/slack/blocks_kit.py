"""Block Kit primitives shared by the builders, each enforcing Slack's limits.

Blocks take mrkdwn that is already escaped (see :mod:`bot.slack.mrkdwn`) except
:func:`header` and :func:`button`, which take plain text and escape it themselves.
Also the small human-readable formatters (durations, relative times, step counts).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import ButtonElement, ContextBlock, HeaderBlock, SectionBlock

from bot.domain.console_types import ScanResult, SeverityCounts
from bot.domain.images import ScanTarget
from bot.domain.steps import Step, without_step_prefix
from bot.slack.message import SlackMessage
from bot.slack.mrkdwn import (
    code,
    escape_truncated,
    plain_text,
    progress_bar,
    truncate_mrkdwn,
)

Block = dict[str, Any]

#: Limits Slack enforces on messages and blocks, from slack_sdk's own Block Kit models
#: where it has them (one source of truth for both).
MAX_BLOCKS = 50  # blocks per message (not in slack_sdk's models)
SECTION_TEXT_LIMIT = SectionBlock.text_max_length
FIELD_TEXT_LIMIT = 2000  # per section field (not in slack_sdk's models)
MAX_FIELDS = SectionBlock.fields_max_length
HEADER_TEXT_LIMIT = HeaderBlock.text_max_length
CONTEXT_TEXT_LIMIT = 3000  # per context text element (not in slack_sdk's models)
MAX_CONTEXT_ELEMENTS = ContextBlock.elements_max_length
BUTTON_TEXT_LIMIT = ButtonElement.text_max_length
BUTTON_VALUE_LIMIT = ButtonElement.value_max_length
#: Our own bound on the fallback ``text`` (Slack allows far more; notifications show little).
FALLBACK_TEXT_LIMIT = 3000
#: How much of one untrusted piece a message shows, so assembled texts stay within limits.
SHOWN_TITLE_CHARS = 300
SHOWN_ERROR_CHARS = 1000
SHOWN_IMAGE_CHARS = 200

DASH = "\u2014"  # em dash
DOT = "\u00b7"  # middle dot
ARROW = "\u2192"


def header(text: str) -> Block:
    """A header block; ``text`` is plain text (escaped here, cut to 150 characters)."""
    return {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": plain_text(text, HEADER_TEXT_LIMIT),
            "emoji": True,
        },
    }


def section(text: str) -> Block:
    """A section of mrkdwn (already escaped), cut to Slack's 3000 characters if needed."""
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate_mrkdwn(text, SECTION_TEXT_LIMIT)},
    }


def divider() -> Block:
    return {"type": "divider"}


def fields_section(fields: list[str]) -> Block:
    """A section of up to 10 mrkdwn fields (already escaped), each at most 2000 characters."""
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": truncate_mrkdwn(text, FIELD_TEXT_LIMIT)}
            for text in fields[:MAX_FIELDS]
        ],
    }


def context(*texts: str) -> Block:
    """A context block of up to 10 mrkdwn elements (already escaped)."""
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": truncate_mrkdwn(text, CONTEXT_TEXT_LIMIT)}
            for text in texts[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def button(text: str, *, action_id: str, value: str, style: str | None = None) -> Block:
    """A button; ``text`` is plain text (escaped here, cut to 75 characters)."""
    element: Block = {
        "type": "button",
        "text": {
            "type": "plain_text",
            "text": plain_text(text, BUTTON_TEXT_LIMIT),
            "emoji": True,
        },
        "action_id": action_id,
        "value": value[:BUTTON_VALUE_LIMIT],
    }
    if style is not None:
        element["style"] = style
    return element


#: ``action_id`` of the "Open in the console" link button (acked, nothing else to do).
OPEN_CONSOLE_ACTION = "open_console"


def console_button(url: str) -> Block:
    """A button opening the console's page (``url`` from configuration, at most 3000)."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Open in the console", "emoji": True},
        "action_id": OPEN_CONSOLE_ACTION,
        "url": url[:3000],
    }


def actions(*elements: Block) -> Block:
    return {"type": "actions", "elements": list(elements)}


def message(text: str, blocks: list[Block]) -> SlackMessage:
    """The message: fallback ``text`` (escaped mrkdwn, never empty) and at most 50 blocks."""
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks; Slack accepts at most {MAX_BLOCKS}")
    fallback = truncate_mrkdwn(text.strip(), FALLBACK_TEXT_LIMIT) or "scanbot"
    return SlackMessage(text=fallback, blocks=blocks)


# --- human-readable formatting ---------------------------------------------------------


def image_code(target: ScanTarget) -> str:
    """An image reference as inline code (escaped, bounded)."""
    return code(target.display()[:SHOWN_IMAGE_CHARS])


def image_plain(target: ScanTarget) -> str:
    """An image reference as escaped plain text (bounded), e.g. for fallback texts."""
    return escape_truncated(target.display(), SHOWN_IMAGE_CHARS)


def human_duration(duration: timedelta) -> str:
    """``12 s``, ``4 min 12 s``, ``1 h 4 min``, ``2 d 3 h`` (two units at most)."""
    seconds = max(0, int(duration.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def relative(then: datetime, now: datetime) -> str:
    """``just now``, ``5 min ago``, ``2 h ago``, ``3 d ago``."""
    seconds = int((now - then).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86_400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86_400} d ago"


def step_block(label: str, step: Step, noun: str) -> Block:
    """A step as a section: label, counts, a progress bar and the console's title."""
    text = f"*{label}*  {step.counts_text(noun)}"
    if step.total > 0:
        text += f"\n`{progress_bar(step.percent)}`"
    title = without_step_prefix(step.title) if step.started else ""  # not before it starts
    if title:
        text += f"\n{escape_truncated(title, SHOWN_TITLE_CHARS)}"
    return section(text)


def error_block(error: str, *, lead: str = "The console reports an error:") -> Block:
    """The console's error text, escaped and bounded."""
    return section(f":warning: *{lead}* {escape_truncated(error, SHOWN_ERROR_CHARS)}")


def _severity_line(counts: SeverityCounts, total: int) -> str:
    return (
        f"{counts.critical} critical {DOT} {counts.high} high {DOT} "
        f"{counts.medium} medium {DOT} {counts.low} low\n{total} in total"
    )


def result_blocks(result: ScanResult) -> list[Block]:
    """The vulnerability and compliance counts by severity of one scanned image."""
    vulns, comp = result.vulnerabilities, result.compliance
    vuln_total = result.vulnerabilities_count or vulns.total
    comp_total = result.compliance_issues_count or comp.total
    blocks = [
        fields_section(
            [
                f"*Vulnerabilities*\n{_severity_line(vulns, vuln_total)}",
                f"*Compliance issues*\n{_severity_line(comp, comp_total)}",
            ]
        )
    ]
    if result.error:
        blocks.append(error_block(result.error, lead="The scan result reports an error:"))
    return blocks
