"""Slack messages (Block Kit) as terminal text: what ``scanbot demo`` shows of the channel.

Minimal on purpose: header, section (text and fields), context, actions (buttons shown
as ``[ label ]``), divider; mrkdwn ``*bold*``, ``_italic_``, ```code```, ``<@U…>``,
``<!date^…|fallback>``, ``<url|label>``, ``&lt;``/``&gt;``/``&amp;`` and the emoji
names scanbot uses.  Pure: no I/O; :func:`channel_view` builds the live view's renderable
and :func:`message_lines` the plain lines printed when the output is not a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

Message = Mapping[str, Any]

#: The emoji names scanbot's messages use; others are shown as ``:name:``.
EMOJI = {
    "mag": "\U0001f50d",
    "hourglass_flowing_sand": "\u23f3",
    "hourglass": "\u231b",
    "white_check_mark": "\u2705",
    "x": "\u274c",
    "warning": "\u26a0\ufe0f",
    "octagonal_sign": "\U0001f6d1",
    "satellite_antenna": "\U0001f4e1",
    "bell": "\U0001f514",
}

_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_ANGLE = re.compile(r"<([^<>]+)>")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
# Formatting marks: *bold*, _italic_, `code` (no nesting; the marks must enclose text).
_FORMAT = re.compile(r"`([^`\n]+)`|\*([^*\n]+)\*|(?<![A-Za-z0-9])_([^_\n]+)_(?![A-Za-z0-9])")


def _angle(match: re.Match[str]) -> str:
    """``<@U1>`` -> ``@U1``; ``<!date^…|fallback>`` -> fallback; ``<url|label>`` -> label."""
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if label:
        return label
    if target.startswith(("@", "#")):
        return target
    if target.startswith("!"):
        return "@" + target[1:]
    return target


def _plain_mrkdwn(text: str) -> str:
    """Control sequences, entities and emoji names resolved; formatting marks kept."""
    text = _ANGLE.sub(_angle, text)
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def mrkdwn(text: str, *, style: str = "") -> Text:
    """One mrkdwn string as rich :class:`Text`: bold, italic and code styled, marks removed."""
    plain = _plain_mrkdwn(text)
    out = Text(style=style)
    position = 0
    for match in _FORMAT.finditer(plain):
        out.append(plain[position : match.start()])
        code, bold, italic = match.groups()
        if code is not None:
            out.append(code, style="cyan")
        elif bold is not None:
            out.append(bold, style="bold")
        else:
            out.append(italic, style="italic")
        position = match.end()
    out.append(plain[position:])
    return out


def _text_of(obj: object) -> Text:
    """A Block Kit text object (plain_text or mrkdwn) as :class:`Text`."""
    if not isinstance(obj, Mapping):
        return Text()
    raw = str(obj.get("text", ""))
    if obj.get("type") == "plain_text":
        return Text(_plain_mrkdwn(raw) if obj.get("emoji") else raw)
    return mrkdwn(raw)


def block_lines(block: Mapping[str, Any]) -> list[Text]:
    """The lines one block shows in a terminal (unknown block types show nothing)."""
    kind = block.get("type")
    if kind == "header":
        title = _text_of(block.get("text"))
        title.stylize("bold underline")
        return [title]
    if kind == "section":
        lines: list[Text] = []
        if "text" in block:
            lines.extend(_text_of(block["text"]).split("\n"))
        for field in block.get("fields") or []:
            lines.extend(_text_of(field).split("\n"))
        return lines
    if kind == "context":
        parts = [_text_of(element) for element in block.get("elements") or []]
        joined = Text("  ", style="dim").join(parts)
        joined.stylize("dim")
        return [joined]
    if kind == "actions":
        buttons = [
            Text(f"[ {_text_of(element.get('text')).plain} ]", style="reverse")
            for element in block.get("elements") or []
            if isinstance(element, Mapping)
        ]
        return [Text(" ").join(buttons)] if buttons else []
    if kind == "divider":
        return [Text("\u2500" * 20, style="dim")]
    return []


def message_text(message: Message) -> Text:
    """A whole message: its blocks, or its fallback ``text`` when it has none."""
    blocks = message.get("blocks")
    if isinstance(blocks, list) and blocks:
        lines = [
            line for block in blocks if isinstance(block, Mapping) for line in block_lines(block)
        ]
    else:
        lines = list(mrkdwn(str(message.get("text", ""))).split("\n"))
    return Text("\n").join(lines)


def message_lines(message: Message) -> list[str]:
    """A message as plain lines (for output that is not a terminal), blank lines dropped."""
    return [line for line in message_text(message).plain.splitlines() if line.strip()]


#: How much :func:`channel_view` shows: everything, then ever shorter, so that the live
#: view fits the terminal's height instead of being cut.
FULL, LATEST_REPLY, SUMMARY, TIGHT = range(4)


def channel_view(
    channel: str,
    parents: Sequence[Message],
    threads: Mapping[str, Sequence[Message]],
    *,
    notes: Sequence[str] = (),
    status: str = "",
    detail: int = FULL,
) -> RenderableType:
    """The channel as a live view: each parent in a panel with its thread replies below it.

    ``detail`` shortens it: :data:`LATEST_REPLY` shows only each thread's latest reply (its
    first line); :data:`SUMMARY` also shows each parent as its title, status and step
    counts; :data:`TIGHT` also shows each note on one line and parents without a frame.
    """
    parts: list[RenderableType] = [Text(f"#chan-{channel.lower()}", style="bold magenta")]
    for note in notes:
        shown = mrkdwn(note, style="yellow")
        if detail >= TIGHT:
            shown = Text(shown.plain.split("\n")[0], style="yellow", no_wrap=True)
            shown.overflow = "ellipsis"
        parts.append(shown)
    for parent in parents:
        body = message_text(parent) if detail < SUMMARY else _summary(parent)
        if detail >= TIGHT:
            parts.append(body)
        else:
            parts.append(Panel(body, border_style="blue", expand=False))
        replies = threads.get(str(parent.get("ts", "")), ())
        if detail >= LATEST_REPLY and replies:
            latest = message_text(replies[-1]).split("\n")[0]
            count = f"({len(replies)} replies) " if len(replies) > 1 else ""
            line = Text.assemble(("  \u21b3 ", "dim"), (count, "dim"), latest)
            line.no_wrap, line.overflow = True, "ellipsis"
            parts.append(line)
            continue
        for reply in replies:
            lines = message_text(reply).split("\n")
            parts.append(Text.assemble(("  \u21b3 ", "dim"), Text("\n    ").join(lines)))
    if status:
        parts.append(Text(status, style="dim italic"))
    return Group(*parts)


def _summary(message: Message) -> Text:
    """A message's first line, its status line and its steps' counts (no bars or titles)."""
    lines = [line for line in message_text(message).split("\n") if line.plain.strip()]
    kept = lines[:1] + [
        line
        for line in lines[1:]
        if line.plain.startswith(("Status", "Step 1/2 \u00b7", "Step 2/2 \u00b7"))
    ]
    joined = Text("\n").join(kept)
    joined.no_wrap, joined.overflow = True, "ellipsis"
    return joined
