"""What the text after /scanprogress asks for."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.images import ScanTarget
from bot.domain.regular import Level
from bot.slack.command_text import (
    BadInput,
    Command,
    FollowImage,
    ListWatches,
    ShowHelp,
    ShowRegularScan,
    StopWatch,
    Subscribe,
    Unsnooze,
    parse_command,
)

ALPINE = ScanTarget(repo="library/alpine", tag="3.16")


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_no_text_shows_the_regular_scan(text: str) -> None:
    assert parse_command(text) == ShowRegularScan()


@pytest.mark.parametrize("text", ["help", "HELP", " help ", "--help", "-h", "?"])
def test_help_words_show_help(text: str) -> None:
    assert parse_command(text) == ShowHelp()


def test_list_lists_watches() -> None:
    assert parse_command("list") == ListWatches()


@pytest.mark.parametrize("text", ["alpine 3.16", "alpine:3.16", "docker.io/library/alpine:3.16"])
def test_an_image_reference_follows_that_image(text: str) -> None:
    assert parse_command(text) == FollowImage(ALPINE)


def test_stop_names_the_image_to_stop() -> None:
    assert parse_command("stop alpine:3.16") == StopWatch(ALPINE)
    assert parse_command("STOP alpine 3.16") == StopWatch(ALPINE)


def test_stop_without_an_image_says_how_to_use_it() -> None:
    result = parse_command("stop")
    assert isinstance(result, BadInput)
    assert "stop alpine:3.16" in result.message


def test_a_bad_reference_is_bad_input_with_the_parsers_explanation() -> None:
    result = parse_command("Alpine:3.16")
    assert isinstance(result, BadInput)
    assert "lowercase" in result.message


def test_a_huge_text_is_refused_without_echoing_it() -> None:
    result = parse_command("a" * 5000)
    assert isinstance(result, BadInput)
    assert "a" * 100 not in result.message


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_text_maps_to_exactly_one_command_and_never_raises(text: str) -> None:
    result = parse_command(text)
    assert isinstance(result, typing.get_args(Command))
    if isinstance(result, BadInput):
        assert result.message
        assert len(result.message) < 300


# --- subscribe [quiet|normal|verbose] [mention=…] -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subscribe", Subscribe()),
        ("SUBSCRIBE Quiet", Subscribe(level=Level.QUIET)),
        ("subscribe verbose", Subscribe(level=Level.VERBOSE)),
        # Slack's escaped forms (should_escape: true): a person, with or without a label
        ("subscribe mention=<@U123ABC|alice>", Subscribe(mention="<@U123ABC>")),
        ("subscribe mention=<@W123ABC>", Subscribe(mention="<@W123ABC>")),
        ("subscribe mention=<@U123ABC|Alice Smith> quiet", Subscribe(Level.QUIET, "<@U123ABC>")),
        # ... and a user group
        (
            "subscribe quiet mention=<!subteam^S0ONCALL|@oncall>",
            Subscribe(Level.QUIET, "<!subteam^S0ONCALL>"),
        ),
        ("subscribe mention=<!subteam^S0ONCALL>", Subscribe(mention="<!subteam^S0ONCALL>")),
        ("subscribe normal mention=none", Subscribe(Level.NORMAL, "")),
    ],
)
def test_subscribe_takes_a_level_and_a_mention_in_slacks_escaped_forms(
    text: str, expected: Subscribe
) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("subscribe loud", "is not a level or a mention"),
        ("subscribe mention=@alice", "is not a person or a user group"),
        ("subscribe mention=<!here>", "is not a person or a user group"),
        ("subscribe mention=<!channel>", "is not a person or a user group"),
        ("subscribe mention=<#C123|general>", "is not a person or a user group"),
        ("subscribe mention=", "is not a person or a user group"),
        ("subscribe quiet normal", "Give one level"),
        ("subscribe mention=<@U1AB> mention=<@U2AB>", "Give `mention=` once"),
    ],
)
def test_bad_subscribe_options_say_how_to_fix_them(text: str, says: str) -> None:
    answer = parse_command(text)
    assert isinstance(answer, BadInput)
    assert says in answer.message


def test_unsnooze_takes_nothing_after_it() -> None:
    assert parse_command("unsnooze") == Unsnooze()
    assert isinstance(parse_command("unsnooze now"), BadInput)


def test_a_registry_host_slack_made_a_link_of_is_read_as_typed() -> None:
    text = "<http://registry.example.com/app:1.2|registry.example.com/app:1.2>"
    assert parse_command(text) == FollowImage(
        ScanTarget(repo="app", tag="1.2", registry="registry.example.com")
    )


@pytest.mark.parametrize(
    "copied",
    [
        "registry\u2024example\u2024com:5000/team/app:1\u20240",
        "\u02cbregistry.example.com:5000/team/app:1.0\u02cb",
        "`registry.example.com:5000/team/app:1.0`",
    ],
)
def test_an_image_name_copied_from_an_older_message_is_understood(copied: str) -> None:
    """Fails before: older messages showed U+2024 dots and U+02CB backticks, and pasting
    them back gave "registry '…' is not a host[:port]"."""
    expected = ScanTarget(repo="team/app", tag="1.0", registry="registry.example.com:5000")
    assert parse_command(copied) == FollowImage(expected)


def test_a_command_copied_with_look_alike_backticks_is_understood() -> None:
    """Fails before: "stop alpine:3.16" between U+02CB look-alike backticks (copied from
    an older help text) was refused."""
    assert parse_command("\u02cbstop alpine:3.16\u02cb") == StopWatch(
        ScanTarget(repo="library/alpine", tag="3.16")
    )
    assert parse_command("scan\u02cdthing:1") == FollowImage(
        ScanTarget(repo="library/scan_thing", tag="1")
    )
