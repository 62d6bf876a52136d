"""The App Home view: golden file ``golden_home/home.json`` (``SCANBOT_UPDATE_GOLDEN=1``
rewrites it), Block Kit limits and escaping."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.domain.regular import Level, Subscription
from bot.ops.report import CheckReport, Finding, Status
from bot.slack.blocks_home import HOME_LIST_MAX, HomeData, home_view
from bot.slack.message import SlackMessage
from tests.slack.block_samples import HOSTILE, NOW, watch
from tests.slack.blockkit import all_texts, block_kit_problems, unsafe_markup

GOLDEN = Path(__file__).parent / "golden_home" / "home.json"
REPORT = CheckReport(
    findings=(
        Finding("console", Status.OK, "console answers", "console answers in 40 ms"),
        Finding("regular_scan", Status.OK, "regular scan running", "Step 2/2: 3/10 images"),
        Finding("last_completed", Status.WARNING, "last completed 2 d ago", "over 48 h"),
        Finding("database", Status.OK, "database answers", "database answers"),
    )
)


def home_sample(**overrides: Any) -> dict[str, Any]:
    data = HomeData(
        user_id="U0ALICE",
        now=NOW,
        followed=[watch()],
        in_channels=[watch(requester="U0BOB", watch_id=9)],
        subscriptions=[
            Subscription("C0SUB", "U0ALICE", "command", NOW, Level.QUIET, "<!subteam^S0ON>"),
            Subscription("C0OPS", "", "setting", NOW),
        ],
        health=REPORT,
    )
    values = {field: getattr(data, field) for field in data.__dataclass_fields__}
    values.update(overrides)
    return home_view(HomeData(**values))


def test_golden() -> None:
    rendered = json.dumps(home_sample(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("SCANBOT_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(rendered)
    assert rendered == GOLDEN.read_text()


def test_a_full_home_stays_within_limits_and_escapes_what_it_shows() -> None:
    many = [watch(watch_id=n, requester="U0BOB") for n in range(3 * HOME_LIST_MAX)]
    view = home_sample(
        followed=many,
        in_channels=many,
        health=CheckReport(findings=(Finding("console", Status.CRITICAL, HOSTILE, HOSTILE),)),
    )
    as_message = SlackMessage("home", view["blocks"])
    assert block_kit_problems(as_message) == []
    assert all(unsafe_markup(text) == [] for text in all_texts(as_message))
    assert f"and {2 * HOME_LIST_MAX} more" in json.dumps(view)


def test_without_console_checks_the_home_says_how_to_check() -> None:
    assert "scanbot check" in json.dumps(home_sample(health=None, followed=[], in_channels=[]))


def test_an_old_watch_is_shown_with_its_age() -> None:
    view = home_sample(followed=[watch(age=timedelta(hours=3))])
    assert "alpine:3.16" in json.dumps(view)
