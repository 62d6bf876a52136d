"""mrkdwn helpers: escaping untrusted text, bounded cuts, mentions, dates, progress bars."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.mrkdwn import (
    BAR_EMPTY,
    BAR_FULL,
    ELLIPSIS,
    channel_mention,
    code,
    escape,
    escape_truncated,
    progress_bar,
    slack_date,
    strip_controls,
    truncate,
    truncate_mrkdwn,
    user_mention,
)

_ENTITY_SAFE = re.compile(r"&(?!amp;|lt;|gt;)")


def test_escape_replaces_the_three_reserved_characters() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_escape_handles_ampersand_first_so_entities_are_not_double_decoded() -> None:
    assert escape("&lt;") == "&amp;lt;"


def test_escape_defuses_mentions_and_broadcasts() -> None:
    assert escape("<!channel> <@U123> <#C1|x>") == "&lt;!channel&gt; &lt;@U123&gt; &lt;#C1|x&gt;"


def test_escape_strips_control_characters_but_keeps_newline_and_tab() -> None:
    assert escape("a\x00b\x1bc\x7fd\u0085e\nf\tg\rh") == "abcde\nf\tgh"


def test_strip_controls_keeps_ordinary_unicode() -> None:
    assert strip_controls("héllo \u2014 \U0001f600") == "héllo \u2014 \U0001f600"


@given(st.text())
def test_escaped_text_has_no_raw_angle_brackets_or_bare_ampersands(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert not _ENTITY_SAFE.search(escaped)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("abcdefghijk", 10, "abcdefghi" + ELLIPSIS),
        ("abc", 1, ELLIPSIS),
        ("abc", 0, ""),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@given(st.text(), st.integers(min_value=0, max_value=60))
def test_truncate_never_exceeds_the_limit(text: str, limit: int) -> None:
    cut = truncate(text, limit)
    assert len(cut) <= limit
    assert cut == text or cut.endswith(ELLIPSIS) or not cut


def test_escape_truncated_does_not_split_an_entity() -> None:
    assert escape_truncated("ab&cd", 5) == "ab" + ELLIPSIS
    assert escape_truncated("ab&cd", 8) == "ab&amp;" + ELLIPSIS


@given(st.text(alphabet="a&<>\x01 ", max_size=80), st.integers(min_value=0, max_value=60))
def test_escape_truncated_is_bounded_and_well_formed(text: str, limit: int) -> None:
    cut = escape_truncated(text, limit)
    assert len(cut) <= limit
    assert "<" not in cut
    assert not _ENTITY_SAFE.search(cut)
    if len(escape(text)) <= limit:
        assert cut == escape(text)


def test_truncate_mrkdwn_backs_off_before_a_cut_entity_or_control_sequence() -> None:
    assert truncate_mrkdwn("hello &amp; world", 9) == "hello " + ELLIPSIS
    assert truncate_mrkdwn("hi <@U12345> there", 8) == "hi " + ELLIPSIS
    assert truncate_mrkdwn("fits", 4) == "fits"


def test_code_wraps_escapes_and_removes_backticks_and_line_breaks() -> None:
    assert code("a`b<c>\nd") == "`a'b&lt;c&gt; d`"
    assert code("  ") == ""


@pytest.mark.parametrize("user_id", ["U123ABC", "W0ABCDEF", "U12"])
def test_user_mention_for_valid_ids(user_id: str) -> None:
    assert user_mention(user_id) == f"<@{user_id}>"


@pytest.mark.parametrize(
    ("user_id", "shown"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("u123abc", "u123abc"),
        ("U1", "U1"),
        ("U123>|<!here", "U123&gt;|&lt;!here"),
        ("", ""),
    ],
)
def test_user_mention_never_builds_a_mention_from_invalid_ids(user_id: str, shown: str) -> None:
    assert user_mention(user_id) == shown


def test_channel_mention() -> None:
    assert channel_mention("C0123ABC") == "<#C0123ABC>"
    assert channel_mention("G99") == "<#G99>"
    assert channel_mention("<!everyone>") == "&lt;!everyone&gt;"


def test_slack_date_uses_epoch_and_a_utc_fallback() -> None:
    when = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    assert slack_date(when) == (
        "<!date^1714566600^{date_short_pretty} {time}|2024-05-01 12:30 UTC>"
    )
    assert slack_date(datetime(2024, 5, 1, 12, 30), "{date}") == (  # naive means UTC
        "<!date^1714566600^{date}|2024-05-01 12:30 UTC>"
    )
    assert slack_date(datetime(2024, 5, 1, 12, 30, tzinfo=UTC)).startswith("<!date^1714566600^")


@pytest.mark.parametrize(
    ("percent", "filled"),
    [(0, 0), (9, 0), (10, 1), (30, 3), (99, 9), (100, 10), (-5, 0), (250, 10)],
)
def test_progress_bar(percent: int, filled: int) -> None:
    bar = progress_bar(percent)
    assert bar == BAR_FULL * filled + BAR_EMPTY * (10 - filled)


def test_progress_bar_width() -> None:
    assert progress_bar(50, width=4) == BAR_FULL * 2 + BAR_EMPTY * 2
    assert progress_bar(50, width=0) == ""
