"""Slack mrkdwn helpers: escaping of untrusted text and the few control sequences we build.

Everything that comes from a user or from the console goes through :func:`escape` before it
is put into a message, so a console title such as ``<!channel>`` cannot ping anyone.  The
only ``<...>`` sequences in our messages are the ones built here from validated input:
:func:`user_mention`, :func:`channel_mention` and :func:`slack_date`.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

ELLIPSIS = "\u2026"
BAR_FULL = "\u2588"  # full block
BAR_EMPTY = "\u2591"  # light shade

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def strip_controls(text: str) -> str:
    """Remove control characters (Unicode category ``Cc``) except newline and tab."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack requires and drop control characters."""
    return "".join(_ESCAPES.get(ch, ch) for ch in strip_controls(text))


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut text ends with "…" (counted in the limit)."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1] + ELLIPSIS


def escape_truncated(text: str, limit: int) -> str:
    """:func:`escape` then cut to ``limit`` characters without splitting an ``&…;`` entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    if limit <= 0:
        return ""
    parts: list[str] = []
    used = 0
    for ch in strip_controls(text):
        piece = _ESCAPES.get(ch, ch)
        if used + len(piece) > limit - 1:
            break
        parts.append(piece)
        used += len(piece)
    return "".join(parts) + ELLIPSIS


def code(text: str) -> str:
    """Inline code of ``text``, escaped; backticks become ``'`` and line breaks spaces.

    An empty (or blank) text gives ``""``, because an empty code span renders as literal
    backticks in Slack.
    """
    cleaned = " ".join(strip_controls(text).replace("`", "'").split())
    if not cleaned:
        return ""
    return f"`{escape(cleaned)}`"


def user_mention(user_id: str) -> str:
    """``<@U…>`` for a well-formed Slack user id, else the escaped text (never a mention)."""
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)


def channel_mention(channel_id: str) -> str:
    """``<#C…>`` for a well-formed Slack conversation id, else the escaped text."""
    if _CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return escape(channel_id)


def slack_date(when: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack date formatting: shown in the reader's time zone, with a UTC fallback.

    ``fmt`` is made of Slack's date tokens (our own constant, never user text).  A naive
    ``when`` is taken to be UTC.
    """
    aware = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    fallback = aware.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{fmt}|{fallback}>"


def progress_bar(percent: int, width: int = 10) -> str:
    """A bar such as ``███░░░░░░░`` for 30%; full only at 100% (rounded down)."""
    if width <= 0:
        return ""
    filled = max(0, min(100, percent)) * width // 100
    return BAR_FULL * filled + BAR_EMPTY * (width - filled)


def truncate_mrkdwn(text: str, limit: int) -> str:
    """Cut already-built mrkdwn to ``limit`` characters without breaking ``&…;`` or ``<…>``.

    A safety net for assembled texts; untrusted pieces are bounded before assembly.
    """
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    open_angle = cut.rfind("<")
    if open_angle > cut.rfind(">"):
        cut = cut[:open_angle]
    ampersand = cut.rfind("&")
    if ampersand > cut.rfind(";"):
        cut = cut[:ampersand]
    return cut + ELLIPSIS
