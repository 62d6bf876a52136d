"""Pure text helpers shared by every output: bounded cuts and removal of hidden characters.

Console and user text is untrusted.  Before it reaches a terminal or Slack it loses the
characters a person cannot see but a display obeys: control characters (which move a
terminal's cursor or retitle it) and invisible format characters (direction overrides that
reorder what is shown, zero-width characters that hide text or split words).
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "\u2026"

#: Invisible characters outside Unicode's "format" category (``Cf``) that are used to hide
#: or disguise text: line/paragraph separators and the Hangul fillers.
_INVISIBLE_EXTRA = frozenset("\u2028\u2029\u115f\u1160\u3164\uffa0")


def plural(count: int, noun: str, nouns: str = "") -> str:
    """``1 image`` / ``3 images``: the one wording of a count for every output; ``nouns``
    for a plural that is not ``noun + "s"`` (``watches``, ``repositories``)."""
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut text ends with "…" (counted in the limit).

    Whitespace just before the "…" is dropped; ``limit <= 0`` gives ``""``.
    """
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS


def strip_controls(text: str) -> str:
    """Remove control characters (Unicode category ``Cc``) except newline and tab."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def is_invisible(ch: str) -> bool:
    """True for invisible format characters: direction overrides and isolates
    (U+202A..U+202E, U+2066..U+2069), zero-width ones (U+200B..U+200F, U+2060, U+FEFF), the
    rest of category ``Cf`` (soft hyphen, tag characters …), line/paragraph separators
    and Hangul fillers."""
    return unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_EXTRA


def printable(text: str) -> str:
    """``text`` without control characters (newline and tab kept) and invisible characters."""
    if text.isascii() and text.isprintable():
        return text  # nothing to take out (the common case, decided at C speed)
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or (unicodedata.category(ch) != "Cc" and not is_invisible(ch))
    )


def one_line(text: str) -> str:
    """:func:`printable` text on one line: runs of whitespace (line breaks too) become one
    space, and leading/trailing whitespace goes."""
    return " ".join(printable(text).split())
