"""bot.domain.permissions: who may start scans (SCANBOT_SCAN_USERS, SCANBOT_SCAN_CHANNELS)."""

from __future__ import annotations

from bot.config.settings import Settings, load_settings
from bot.domain.permissions import may_manage_subscriptions, may_start_scans, may_stop_watch

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


def test_an_admin_may_start_scans_anywhere_even_when_the_lists_leave_them_out() -> None:
    rules = load_settings({"SCANBOT_ADMIN_USERS": ALICE, "SCANBOT_SCAN_USERS": BOB}).permissions
    assert may_start_scans(rules, user_id=ALICE, channel_id=RANDOM)


def test_subscriptions_are_anyones_until_admins_are_set_then_admins_only() -> None:
    open_rules = settings().permissions
    assert may_manage_subscriptions(open_rules, user_id=BOB, from_setting=False)
    rules = load_settings({"SCANBOT_ADMIN_USERS": ALICE}).permissions
    assert not may_manage_subscriptions(rules, user_id=BOB, from_setting=False)
    assert may_manage_subscriptions(rules, user_id=ALICE, from_setting=False)


def test_a_subscription_set_at_deploy_time_is_changed_only_by_an_admin() -> None:
    assert not may_manage_subscriptions(settings().permissions, user_id=BOB, from_setting=True)
    rules = load_settings({"SCANBOT_ADMIN_USERS": ALICE}).permissions
    assert may_manage_subscriptions(rules, user_id=ALICE, from_setting=True)


def test_a_watch_is_stopped_by_its_starter_an_admin_or_anyone_once_the_starter_left() -> None:
    rules = load_settings({"SCANBOT_ADMIN_USERS": ALICE}).permissions
    assert may_stop_watch(rules, user_id=BOB, started_by=BOB)
    assert may_stop_watch(rules, user_id=ALICE, started_by=BOB)
    assert not may_stop_watch(rules, user_id="U0EVE", started_by=BOB)
    assert may_stop_watch(rules, user_id="U0EVE", started_by=BOB, starter_gone=True)
