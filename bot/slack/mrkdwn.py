"""Slack mrkdwn helpers: untrusted text shown literally, and the few control sequences we build.

Everything that comes from a user or from the console goes through :func:`escape` before it
is put into a message, so a console title such as ``<!channel>`` cannot ping anyone, ``*x*``
is not bold and ``evil.example/login`` is not a link.  The only ``<...>`` sequences in our
messages are the ones built here from validated input: :func:`user_mention`,
:func:`channel_mention` and :func:`slack_date`.

mrkdwn has no backslash escape, and invisible characters (zero-width spaces, joiners) are
themselves stripped from untrusted text (they hide and reorder text), so a character Slack
would act on is replaced by a visible look-alike that Slack does not act on:

- ``*b*``, ``_i_``, ``~s~`` would format: the sign becomes U+2217 ASTERISK OPERATOR,
  U+02CD MODIFIER LETTER LOW MACRON or U+223C TILDE OPERATOR, unless it sits between two
  letters or digits, where Slack never formats (``scan_id`` stays as it is);
- a backtick would start code: always U+02CB MODIFIER LETTER GRAVE ACCENT;
- ``>`` starting a line would quote it: U+203A SINGLE RIGHT-POINTING ANGLE QUOTATION MARK;
- ``foo.com``, ``www.x``, ``a@b.io`` would be linked: a dot between a letter or digit and a
  letter becomes U+2024 ONE DOT LEADER (``3.16`` stays);
- ``http://x`` would be linked: the colon before ``//`` becomes U+A789 MODIFIER LETTER COLON;
- ``@here`` would notify, ``#general`` would be linked: U+FF20 FULLWIDTH COMMERCIAL AT and
  U+FF03 FULLWIDTH NUMBER SIGN, unless inside a word (``alpine@sha256:...`` stays);
- ``:skull:`` would show an emoji: its first colon becomes U+2236 RATIO.

``<``, ``>`` and ``&`` become entities as Slack documents, so ``<!channel>`` and ``<@U1>``
are plain text.  Text inside a code span (:func:`code`) is shown verbatim by Slack and
only loses hidden characters; it is meant for commands and image names we show.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.domain.text import ELLIPSIS, printable

BAR_FULL = "\u2588"  # full block
BAR_EMPTY = "\u2591"  # light shade

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

_ALNUM = r"[^\W_]"  # a letter or digit (Unicode), not the underscore
_LETTER = r"[^\W\d_]"
_EMPHASIS = re.compile(r"[*_~]")
_EMPHASIS_LOOKALIKE = {"*": "\u2217", "_": "\u02cd", "~": "\u223c"}
_BACKTICK = ("`", "\u02cb")
_QUOTE = re.compile(r"^([ \t]*)>", re.MULTILINE)
_QUOTE_LOOKALIKE = "\u203a"
_DOMAIN_DOT = re.compile(rf"(?<={_ALNUM})\.(?={_LETTER})")
_DOT_LOOKALIKE = "\u2024"
_SCHEME_COLON = re.compile(r":(?=//)")
_SCHEME_COLON_LOOKALIKE = "\ua789"
_MENTION = re.compile(rf"(?<!{_ALNUM})(?:@(?=\w)|#(?={_LETTER}))")
_MENTION_LOOKALIKE = {"@": "\uff20", "#": "\uff03"}
_EMOJI_COLON = re.compile(r":(?=[a-z0-9_+'-]*[a-z][a-z0-9_+'-]*:)", re.IGNORECASE)
_EMOJI_COLON_LOOKALIKE = "\u2236"


def literal(text: str) -> str:
    """``text`` without hidden characters and with every character Slack would act on
    replaced by a look-alike (see the module's table).  Not yet entity-escaped; one
    character in gives at most one character out."""
    text = printable(text)
    text = _EMPHASIS.sub(_emphasis, text)
    text = text.replace(*_BACKTICK)
    text = _QUOTE.sub(lambda m: m.group(1) + _QUOTE_LOOKALIKE, text)
    text = _SCHEME_COLON.sub(_SCHEME_COLON_LOOKALIKE, text)
    text = _DOMAIN_DOT.sub(_DOT_LOOKALIKE, text)
    text = _MENTION.sub(lambda m: _MENTION_LOOKALIKE[m.group()], text)
    return _EMOJI_COLON.sub(_EMOJI_COLON_LOOKALIKE, text)


def _emphasis(match: re.Match[str]) -> str:
    """Keep ``*``/``_``/``~`` between two letters or digits (it cannot open or close a
    span there, e.g. ``scan_id``); replace it anywhere else."""
    text, at = match.string, match.start()
    inside_word = 0 < at < len(text) - 1 and text[at - 1].isalnum() and text[at + 1].isalnum()
    return match.group() if inside_word else _EMPHASIS_LOOKALIKE[match.group()]


def _entities(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def escape(text: str) -> str:
    """Untrusted text shown literally in mrkdwn: :func:`literal`, then ``&``, ``<`` and ``>``
    as entities (as Slack requires)."""
    return _entities(literal(text))


def escape_truncated(text: str, limit: int) -> str:
    """:func:`escape` then cut to ``limit`` characters without splitting an ``&…;`` entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    if limit <= 0:
        return ""
    parts: list[str] = []
    used = 0
    for ch in literal(text):
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
