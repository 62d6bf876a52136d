"""mrkdwn helpers: untrusted text shown literally, bounded cuts, mentions, dates, progress bars."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.text import ELLIPSIS
from bot.slack.mrkdwn import (
    BAR_EMPTY,
    BAR_FULL,
    channel_mention,
    code,
    escape,
    escape_truncated,
    progress_bar,
    slack_date,
    truncate_mrkdwn,
    user_mention,
)

_ENTITY_SAFE = re.compile(r"&(?!amp;|lt;|gt;)")


def test_escape_replaces_the_three_reserved_characters() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_escape_handles_ampersand_first_so_entities_are_not_double_decoded() -> None:
    assert escape("&lt;") == "&amp;lt;"


def test_escape_defuses_mentions_and_broadcasts() -> None:
    assert escape("<!channel> <!here|x>") == "&lt;!channel&gt; &lt;!here|x&gt;"
    assert escape("<@U123> <#C1|x>") == "&lt;@U123&gt; &lt;#C1|x&gt;"


def test_escape_strips_control_characters_but_keeps_newline_and_tab() -> None:
    assert escape("a\x00b\x1bc\x7fd\u0085e\nf\tg\rh") == "abcde\nf\tgh"


def test_escape_keeps_ordinary_unicode() -> None:
    assert escape("héllo \u2014 \U0001f600") == "héllo \u2014 \U0001f600"


@given(st.text())
def test_escaped_text_has_no_raw_angle_brackets_or_bare_ampersands(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert not _ENTITY_SAFE.search(escaped)


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


# --- untrusted text is inert, with no look-alike characters ------------------------------

#: Characters the old escaping put in place of the real ones (before this escaping, the
#: bot's own words and image names were shown with them and could not be pasted back).
LOOK_ALIKES = "\u2217\u02cd\u223c\u02cb\u203a\u2024\ua789\uff20\uff03\u2236"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("*bold*", "`*bold*`"),
        ("_italic_", "`_italic_`"),
        ("~strike~", "`~strike~`"),
        ("```block```", "`'''block'''`"),
        ("a *b* c", "a `*b*` c"),
        ("(*x*)", "`(*x*`)"),
        ("scan_id", "`scan_id`"),
    ],
)
def test_formatting_marks_are_shown_in_a_code_span_where_slack_does_not_format(
    text: str, shown: str
) -> None:
    """Fails before: ``*bold*`` became ``bold`` between U+2217 look-alikes (which a
    reader cannot paste)."""
    assert escape(text) == shown


def test_a_quote_at_the_start_of_a_line_is_not_a_block_quote() -> None:
    assert escape("> quoted\n  >>> more\nx > y") == (
        "`&gt;` quoted\n  `&gt;&gt;&gt;` more\nx &gt; y"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://x", "`http://x`"),
        ("see https://evil.example/login now", "see `https://evil.example/login` now"),
        ("www.example", "`www.example`"),
        ("foo.com", "`foo.com`"),
        ("mail ops@corp.io", "mail `ops@corp.io`"),
        ("<http://evil|click>", "`&lt;http://evil|click&gt;`"),
    ],
)
def test_links_are_code_spans_so_slack_does_not_link_them(text: str, shown: str) -> None:
    assert escape(text) == shown


def test_versions_tags_addresses_abbreviations_and_digests_stay_plain() -> None:
    text = "alpine:3.16 at 10.0.0.1:8443, v1.2.3, 12:30:45, e.g. issue #12"
    assert escape(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("@here", "`@here`"),
        ("ping @channel and @everyone", "ping `@channel` and `@everyone`"),
        ("(@alice)", "`(@alice`)"),
        ("#general", "`#general`"),
        ("issue #12", "issue #12"),
    ],
)
def test_bare_mentions_and_channel_names_are_not_parsed(text: str, shown: str) -> None:
    assert escape(text) == shown


def test_emoji_codes_do_not_become_emoji() -> None:
    assert escape(":skull: done") == "`:skull`: done"
    assert escape("tag: 3.16") == "tag: 3.16"


def test_the_bots_own_code_spans_stay_code_spans_with_real_characters() -> None:
    """Fails before: "Type /scanprogress help for examples" with U+02CB look-alikes
    around the command instead of a code span."""
    assert escape("Type `/scanprogress help` for examples.") == (
        "Type `/scanprogress help` for examples."
    )
    assert escape("e.g. `stop alpine:3.16`.") == "e.g. `stop alpine:3.16`."
    assert escape("Type `/scanprogress scan <image>`.") == (
        "Type `/scanprogress scan &lt;image&gt;`."
    )


def test_image_names_with_a_registry_host_keep_their_real_dots() -> None:
    """Fails before: ``registry<U+2024>example<U+2024>com`` (U+2024), which the parser refused."""
    assert escape("registry.example.com:5000/team/app:1.0") == (
        "`registry.example.com:5000/team/app:1.0`"
    )


def test_a_backtick_cannot_break_out_of_a_code_span() -> None:
    assert escape("a`b *c*") == "`a'b` `*c*`"
    assert escape("`x` y` *z*`") == "`x` `y'` `*z*'`"


@pytest.mark.parametrize(
    "hidden",
    [
        *"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
        *"\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u2028",
        "\U000e0041",  # a tag character ("ASCII smuggling")
    ],
)
def test_invisible_and_direction_override_characters_are_removed(hidden: str) -> None:
    assert escape(f"ab{hidden}c") == "abc"
    assert escape_truncated(f"ab{hidden}c", 10) == "abc"
    assert code(f"ab{hidden}c") == "`abc`"


_SPAN = re.compile(r"`[^`\n]*`")
_ACTIVE = re.compile(
    r"[*_~`]"  # a formatting mark or a stray backtick
    r"|^\s*&gt;"  # a quote
    r"|://"  # a scheme
    r"|(?:^|\s)[@#][^\W\d]"  # a bare mention or channel
    r"|[^\W_]\.[^\W\d_]{2}",  # a domain-like name
    re.MULTILINE,
)


@given(st.text(alphabet="ab1 *_~`>.:/@#\n\u202e\u200b", max_size=60))
def test_escaped_text_has_nothing_slack_would_act_on_outside_code_spans(text: str) -> None:
    escaped = escape(text)
    assert not _ACTIVE.search(_SPAN.sub("x", escaped)), escaped
    assert "``" not in escaped
    assert "\u202e" not in escaped
    assert "\u200b" not in escaped
    assert not set(escaped) & set(LOOK_ALIKES)


@given(st.text(alphabet="ab1 *_~<>&.:/@#\n", max_size=60))
def test_what_a_reader_copies_is_the_original_text(text: str) -> None:
    """Without backticks in the input, the shown text minus the code spans' backticks and
    with entities decoded is the text itself: nothing is replaced by a look-alike."""
    shown = escape(text).replace("`", "").replace("&lt;", "<").replace("&gt;", ">")
    assert shown.replace("&amp;", "&") == text


def test_code_spans_show_commands_and_image_names_verbatim() -> None:
    assert code("/scanprogress registry.example.com:5000/team/app:1.2") == (
        "`/scanprogress registry.example.com:5000/team/app:1.2`"
    )
    assert code("a_b *c* <!here>") == "`a_b *c* &lt;!here&gt;`"
