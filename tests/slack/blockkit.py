"""Test support: a generic Block Kit validator and an escaping check for any SlackMessage.

Usable by any Slack test: ``assert block_kit_problems(msg) == []`` and, for every text in
:func:`all_texts`, ``assert unsafe_markup(text) == []``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from bot.slack.message import SlackMessage

Block = dict[str, Any]

#: The only ``<...>`` sequences scanbot builds itself: user/channel/user-group mentions and
#: dates.
_ALLOWED_SEQUENCES = re.compile(
    r"<@[UW][A-Z0-9]{2,}>|<#[CGD][A-Z0-9]{2,}>|<!subteam\^S[A-Z0-9]{2,}>"
    r"|<!date\^\d+\^[^<>|]*\|[^<>]*>"
)
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def _text_len(obj: Any) -> int:
    return len(obj["text"]) if isinstance(obj, dict) and isinstance(obj.get("text"), str) else 0


def _header(block: Block) -> list[str]:
    text = block["text"]
    if text.get("type") != "plain_text" or not 0 < _text_len(text) <= 150:
        return ["header text must be plain_text of 1..150 characters"]
    return []


def _section(block: Block) -> list[str]:
    problems = []
    if "text" not in block and "fields" not in block:
        problems.append("section without text or fields")
    if "text" in block and not 0 < _text_len(block["text"]) <= 3000:
        problems.append(f"section text of {_text_len(block['text'])} characters")
    fields = block.get("fields", [])
    if len(fields) > 10 or any(not 0 < _text_len(field) <= 2000 for field in fields):
        problems.append("section fields: at most 10 of 1..2000 characters")
    return problems


def _context(block: Block) -> list[str]:
    elements = block["elements"]
    if not 0 < len(elements) <= 10 or any(_text_len(e) > 3000 for e in elements):
        return ["context needs 1..10 elements of at most 3000 characters"]
    return []


def _actions(block: Block) -> list[str]:
    elements = block["elements"]
    problems = [] if 0 < len(elements) <= 25 else ["actions needs 1..25 elements"]
    for element in elements:
        if not 0 < _text_len(element["text"]) <= 75:
            problems.append("button text must be 1..75 characters")
        if len(element.get("value", "")) > 2000 or not 0 < len(element["action_id"]) <= 255:
            problems.append("button value (<= 2000) or action_id (1..255)")
    return problems


_CHECKS: dict[str, Callable[[Block], list[str]]] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "actions": _actions,
    "divider": lambda _block: [],
}


def block_kit_problems(msg: SlackMessage) -> list[str]:
    """Every way ``msg`` breaks a Block Kit limit (empty list when it is valid)."""
    problems: list[str] = []
    if not msg.text.strip():
        problems.append("empty fallback text")
    if len(msg.blocks) > 50:
        problems.append(f"{len(msg.blocks)} blocks (at most 50)")
    for index, block in enumerate(msg.blocks):
        check = _CHECKS.get(str(block.get("type")))
        if check is None:
            problems.append(f"block {index}: unexpected type {block.get('type')!r}")
            continue
        problems.extend(f"block {index}: {problem}" for problem in check(block))
    return problems


def all_texts(msg: SlackMessage) -> Iterator[str]:
    """The fallback text and every text shown in the blocks."""
    yield msg.text

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(msg.blocks)


def unsafe_markup(text: str) -> list[str]:
    """``<``/``>`` outside the control sequences we build, and ``&`` not starting an entity."""
    rest = _ALLOWED_SEQUENCES.sub("", text)
    return re.findall(r"[<>]", rest) + _BARE_AMPERSAND.findall(rest)
