"""Pure text helpers: bounded cuts with an ellipsis, hidden characters removed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.text import (
    ELLIPSIS,
    is_invisible,
    one_line,
    plural,
    printable,
    strip_controls,
    truncate,
)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("abcdefghijk", 10, "abcdefghi" + ELLIPSIS),
        ("abcd    efghijk", 8, "abcd" + ELLIPSIS),
        ("abc", 1, ELLIPSIS),
        ("abc", 0, ""),
        ("abc", -3, ""),
    ],
)
def test_truncate_cuts_with_an_ellipsis_counted_in_the_limit(
    text: str, limit: int, expected: str
) -> None:
    assert truncate(text, limit) == expected


@given(st.text(), st.integers(min_value=0, max_value=60))
def test_truncate_never_exceeds_the_limit_and_keeps_a_prefix(text: str, limit: int) -> None:
    cut = truncate(text, limit)
    assert len(cut) <= limit
    assert cut == text or (cut.endswith(ELLIPSIS) and text.startswith(cut[:-1])) or not cut


def test_strip_controls_removes_control_characters_but_keeps_newline_and_tab() -> None:
    assert strip_controls("a\x00b\x1bc\x7fd\u0085e\nf\tg\rh") == "abcde\nf\tgh"


def test_printable_removes_direction_overrides_and_zero_width_characters() -> None:
    hidden = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f"
    assert printable(f"a{hidden}\u2060\ufeff\x1b[2Jb\nc") == "a[2Jb\nc"


def test_printable_keeps_ordinary_unicode() -> None:
    assert printable("héllo \u2014 \U0001f600 日本") == "héllo \u2014 \U0001f600 日本"


@pytest.mark.parametrize("ch", ["\u202e", "\u200b", "\ufeff", "\u00ad", "\U000e0041", "\u3164"])
def test_is_invisible(ch: str) -> None:
    assert is_invisible(ch)


@pytest.mark.parametrize("ch", ["a", " ", "\n", "\u2014", "\u00e9"])
def test_visible_characters_are_not_invisible(ch: str) -> None:
    assert not is_invisible(ch)


def test_one_line_collapses_whitespace_and_line_breaks() -> None:
    assert one_line("  a\n\tb \u2028 c\u200b  ") == "a b c"


def test_a_count_is_worded_once_for_every_output() -> None:
    assert plural(1, "image") == "1 image"
    assert plural(0, "image") == "0 images"
    assert plural(3, "open watch", "open watches") == "3 open watches"
    assert plural(2, "repository", "repositories") == "2 repositories"
