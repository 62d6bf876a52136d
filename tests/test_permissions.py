"""bot.domain.permissions: who may start scans (SCANBOT_SCAN_USERS, SCANBOT_SCAN_CHANNELS)."""

from __future__ import annotations

from bot.config.settings import Settings, load_settings
from bot.domain.permissions import may_start_scans

ALICE, BOB = "U0ALICE", "U0BOB"
OPS, RANDOM = "C0OPS", "C0RANDOM"


def settings(users: str = "", channels: str = "") -> Settings:
    return load_settings({"SCANBOT_SCAN_USERS": users, "SCANBOT_SCAN_CHANNELS": channels})


def test_with_both_settings_empty_everyone_may_start_scans_everywhere() -> None:
    assert may_start_scans(settings().permissions, user_id=BOB, channel_id=RANDOM)


def test_a_listed_user_may_start_scans_in_any_channel() -> None:
    rules = settings(users=f"{ALICE}")
    assert may_start_scans(rules.permissions, user_id=ALICE, channel_id=RANDOM)
    assert not may_start_scans(rules.permissions, user_id=BOB, channel_id=RANDOM)


def test_anyone_in_a_listed_channel_may_start_scans_there_only() -> None:
    rules = settings(channels=OPS)
    assert may_start_scans(rules.permissions, user_id=BOB, channel_id=OPS)
    assert not may_start_scans(rules.permissions, user_id=BOB, channel_id=RANDOM)


def test_with_both_lists_a_user_or_a_channel_listed_is_enough() -> None:
    rules = settings(users=ALICE, channels=OPS)
    assert may_start_scans(rules.permissions, user_id=ALICE, channel_id=RANDOM)
    assert may_start_scans(rules.permissions, user_id=BOB, channel_id=OPS)
    assert not may_start_scans(rules.permissions, user_id=BOB, channel_id=RANDOM)


def test_several_users_and_channels_are_comma_separated() -> None:
    rules = settings(users=f"{ALICE}, {BOB}", channels=f"{OPS},C0SEC")
    assert may_start_scans(rules.permissions, user_id=BOB, channel_id=RANDOM)
    assert may_start_scans(rules.permissions, user_id="U0EVE", channel_id="C0SEC")
    assert not may_start_scans(rules.permissions, user_id="U0EVE", channel_id=RANDOM)


def test_an_empty_user_or_channel_id_is_never_a_listed_one() -> None:
    """A request without ids (a malformed payload) gets no permission from the lists."""
    rules = settings(users=ALICE, channels=OPS)
    assert not may_start_scans(rules.permissions, user_id="", channel_id="")


def test_ids_match_exactly_not_as_prefixes() -> None:
    rules = settings(users=ALICE, channels=OPS)
    assert not may_start_scans(rules.permissions, user_id=ALICE[:-1], channel_id=RANDOM)
    assert not may_start_scans(rules.permissions, user_id=BOB, channel_id=OPS + "X")
