"""The permission settings as written by an operator: `none`, lists without ids, misspelled
names, and the rule in force said at start.

Before these checks, ``SCANBOT_SCAN_USERS=,`` and a misspelled ``SCANBOT_SCAN_USER`` both
meant "everyone may start scans" without a word, and nobody could be named "nobody":
every test here failed.
"""

from __future__ import annotations

import pytest

from bot.config.settings import SettingsError, load_settings, unknown_variables
from bot.domain.permissions import (
    may_manage_subscriptions,
    may_start_scans,
    rules_in_force,
)

ALICE, BOB, OPS = "U0ALICE", "U0BOB", "C0OPS"


def test_none_lets_nobody_but_admins_start_scans() -> None:
    rules = load_settings({"SCANBOT_SCAN_USERS": "none", "SCANBOT_ADMIN_USERS": ALICE}).permissions
    assert not may_start_scans(rules, user_id=BOB, channel_id=OPS)
    assert may_start_scans(rules, user_id=ALICE, channel_id=OPS)


def test_none_in_the_scan_channels_also_closes_scans_and_is_case_insensitive() -> None:
    rules = load_settings({"SCANBOT_SCAN_CHANNELS": " None "}).permissions
    assert not may_start_scans(rules, user_id=BOB, channel_id=OPS)


def test_admins_none_lets_nobody_change_subscriptions_from_slack() -> None:
    rules = load_settings({"SCANBOT_ADMIN_USERS": "none"}).permissions
    assert not may_manage_subscriptions(rules, user_id=BOB, from_setting=False)


@pytest.mark.parametrize(
    "name", ["SCANBOT_SCAN_USERS", "SCANBOT_SCAN_CHANNELS", "SCANBOT_ADMIN_USERS"]
)
@pytest.mark.parametrize("value", [",", " , ,"])
def test_a_list_without_ids_is_refused_naming_the_variable_and_the_fix(
    name: str, value: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value})
    message = str(raised.value)
    assert name in message
    assert "holds no" in message
    assert "'none' for nobody" in message


def test_a_channel_list_that_is_not_a_permission_does_not_take_none_as_a_channel() -> None:
    with pytest.raises(SettingsError, match="SCANBOT_NOTIFY_CHANNELS"):
        load_settings({"SCANBOT_NOTIFY_CHANNELS": "none"})


def test_a_whitespace_only_value_is_unset_as_for_every_setting() -> None:
    rules = load_settings({"SCANBOT_SCAN_USERS": "   "}).permissions
    assert may_start_scans(rules, user_id=BOB, channel_id=OPS)


def test_the_rule_in_force_names_the_settings_that_decide_it() -> None:
    open_rules = rules_in_force(load_settings({}).permissions)
    assert open_rules[0] == (
        "everyone may start scans: SCANBOT_SCAN_USERS and SCANBOT_SCAN_CHANNELS are empty"
    )
    assert "SCANBOT_ADMIN_USERS is empty" in open_rules[1]
    closed = rules_in_force(
        load_settings({"SCANBOT_SCAN_USERS": "none", "SCANBOT_ADMIN_USERS": "none"}).permissions
    )
    assert closed[0].startswith("nobody but admins may start scans")
    assert closed[1].startswith("nobody may subscribe")
    listed = rules_in_force(
        load_settings(
            {"SCANBOT_SCAN_USERS": f"{ALICE},{BOB}", "SCANBOT_ADMIN_USERS": ALICE}
        ).permissions
    )
    assert listed[0].startswith("scans may be started by 2 users (SCANBOT_SCAN_USERS)")
    assert listed[1].startswith("only the 1 admin in SCANBOT_ADMIN_USERS")


def test_a_misspelled_variable_is_warned_about_with_the_closest_name() -> None:
    warnings = unknown_variables(
        {"SCANBOT_SCAN_USER": ALICE, "SCANBOT_SCAN_USERS": BOB, "PATH": "/bin", "HOME": "/"}
    )
    assert warnings == [
        "the environment variable SCANBOT_SCAN_USER is not a scanbot setting: ignored; "
        "did you mean SCANBOT_SCAN_USERS?"
    ]


def test_a_variable_far_from_any_setting_is_warned_about_without_a_guess() -> None:
    (warning,) = unknown_variables({"SLACK_SOMETHING_ELSE_ENTIRELY": "x"})
    assert "did you mean" not in warning
