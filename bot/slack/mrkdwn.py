"""Slack mrkdwn helpers: untrusted text shown as it is, and the few control sequences we build.

Everything that comes from a user or from the console goes through :func:`escape` before it
is put into a message, so a console title such as ``<!channel>`` cannot ping anyone, ``*x*``
is not bold and ``evil.example/login`` is not a link.  The only ``<...>`` sequences in our
messages are the ones built here from validated input: :func:`user_mention`,
:func:`channel_mention` and :func:`slack_date`.

Escaping uses only what Slack itself offers, so that what a reader copies is exactly the
text that was escaped (an image name pasted back into ``/scanprogress`` works):

- ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;`` and ``&gt;`` everywhere, as Slack
  documents, so ``<!channel>``, ``<@U1>`` and ``<http://x|y>`` are plain text;
- a word (a run of non-blank characters) Slack would act on -- a formatting mark
  (``*``, ``_``, ``~``, a backtick), a quote at the start of a line, a link (``://``, a
  domain such as ``evil.example``), a bare ``@mention`` or ``#channel``, an ``:emoji:``
  code -- is put in a code span, where Slack shows text verbatim;
- a pair of backticks around words (``Type `/scanprogress help` for help``) is kept as
  the code span it is; any other backtick, which could close a span, becomes ``'``.

Invisible characters (zero-width spaces, joiners, direction overrides) and control
characters are removed from untrusted text: they hide and reorder text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.domain.text import ELLIPSIS, printable, truncate

BAR_FULL = "\u2588"  # full block
BAR_EMPTY = "\u2591"  # light shade

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

#: A code span the text already has: backticks around text without a backtick or line
#: break, opening after a blank or an opening bracket/quote, closing before a blank
#: (punctuation may come between).
_CODE_SPAN = re.compile(r"(?<![^\s(\['\"])`([^`\n]+)`(?=[.,;:!?)\]'\"]*(?:\s|$))")
#: A word Slack would act on (see the module's list).
_ACTIVE_WORD = re.compile(
    r"[*_~`]"  # formatting marks and code
    r"|://"  # a link with a scheme
    r"|[^\W_]\.[^\W\d_]{2,}"  # a domain-like name (example.com), not e.g. or 3.16
    r"|^[(\[]?(?:@\w|#[^\W\d_])"  # a bare mention or channel name (not #12)
    r"|:[a-z0-9_+'-]*[a-z][a-z0-9_+'-]*:",  # an emoji code
    re.IGNORECASE,
)
_WORD = re.compile(r"\S+")
#: Punctuation after a word, shown after its code span rather than in it.
_TRAILING = re.compile(r"(.*?)([.,;:!?)\]'\"]*)", re.DOTALL)


def _entities(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _span(text: str) -> str:
    """``text`` as a code span: entities escaped, backticks (which would close it) as ``'``."""
    inside = _entities(text.replace("`", "'"))
    return f"`{inside}`"


def _words(text: str, line_start: bool) -> str:
    """Plain text outside code spans: active words in code spans, the rest entity-escaped."""

    def word(match: re.Match[str]) -> str:
        shown = match.group()
        first = line_start and not text[: match.start()].strip()
        if not (first and shown.startswith(">")) and not _ACTIVE_WORD.search(shown):
            return _entities(shown)
        parts = _TRAILING.fullmatch(shown)
        assert parts is not None  # the pattern matches any text
        head, tail = parts.groups()
        return _span(head) + _entities(tail) if head else _span(shown)

    return _WORD.sub(word, text)


def _escape_line(line: str) -> str:
    parts: list[str] = []
    at = 0
    for match in _CODE_SPAN.finditer(line):
        parts.append(_words(line[at : match.start()], line_start=at == 0))
        parts.append(_span(match.group(1)))
        at = match.end()
    parts.append(_words(line[at:], line_start=at == 0))
    return "".join(parts)


def escape(text: str) -> str:
    """Untrusted (or plain) text for mrkdwn: shown as it is, and inert (see the module)."""
    return "\n".join(_escape_line(line) for line in printable(text).split("\n"))


def escape_truncated(text: str, limit: int) -> str:
    """:func:`escape` of ``text`` cut (with "…") so the result has at most ``limit``
    characters; never splits an ``&…;`` entity or a code span."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    if limit <= 0:
        return ""
    clean = printable(text)
    low, high = 0, min(len(clean), limit)  # escaping never shortens text
    while low < high:  # the longest cut whose escaped form fits
        mid = (low + high + 1) // 2
        if len(escape(truncate(clean, mid))) <= limit:
            low = mid
        else:
            high = mid - 1
    return escape(truncate(clean, low)) if low else ""


def plain_text(text: str, limit: int) -> str:
    """Text for a ``plain_text`` object (headers, buttons): no hidden characters, the three
    reserved characters as entities, cut to ``limit`` without splitting an entity."""
    clean = " ".join(printable(text).split())
    shown = _entities(clean)
    if len(shown) <= limit:
        return shown
    if limit <= 0:
        return ""
    parts: list[str] = []
    used = 0
    for ch in clean:
        piece = _ESCAPES.get(ch, ch)
        if used + len(piece) > limit - 1:
            break
        parts.append(piece)
        used += len(piece)
    return "".join(parts).rstrip() + ELLIPSIS


def code(text: str) -> str:
    """Inline code of ``text``, escaped; backticks become ``'`` and line breaks spaces.

    An empty (or blank) text gives ``""``, because an empty code span renders as literal
    backticks in Slack.
    """
    cleaned = " ".join(printable(text).replace("`", "'").split())
    if not cleaned:
        return ""
    return f"`{_entities(cleaned)}`"


def user_mention(user_id: str) -> str:
    """``<@U…>`` for a well-formed Slack user id, else the escaped text (never a mention)."""
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)


_ALERT_MENTION = re.compile(r"^(?:<@[UW][A-Z0-9]{2,20}>|<!subteam\^S[A-Z0-9]{2,20}>)$")


def alert_mention(markup: str) -> str:
    """A subscription's mention (``<@U…>`` or ``<!subteam^S…>``) as stored, or "" for
    anything else: stored text never becomes a ping it was not validated to be."""
    return markup if _ALERT_MENTION.fullmatch(markup) else ""


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
