"""What the text after /scanprogress asks for."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.images import ScanTarget
from bot.slack.command_text import (
    BadInput,
    Command,
    FollowImage,
    ListWatches,
    ShowHelp,
    ShowRegularScan,
    StopWatch,
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
