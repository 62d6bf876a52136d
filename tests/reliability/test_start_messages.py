"""What ``scanbot run`` says at start about who may do what, and about names it ignores.

Before, a misspelled ``SCANBOT_SCAN_USER`` left everyone free to start scans and the log
said nothing about it or about the rule in force; this test failed.
"""

from __future__ import annotations

from pathlib import Path

from tests.reliability.stage import stage


def test_the_rule_in_force_and_a_misspelled_variable_are_logged_at_start(
    tmp_path: Path,
) -> None:
    with stage(tmp_path, SCANBOT_SCAN_USER="U0ALICE") as s:
        lines = s.log_lines()
    assert any(
        "WARNING" in line
        and "SCANBOT_SCAN_USER is not a scanbot setting" in line
        and "did you mean SCANBOT_SCAN_USERS?" in line
        for line in lines
    ), "\n".join(lines)
    assert any(
        "permissions: everyone may start scans: SCANBOT_SCAN_USERS and SCANBOT_SCAN_CHANNELS "
        "are empty" in line
        for line in lines
    )
    assert any("permissions: everyone may subscribe" in line for line in lines)
