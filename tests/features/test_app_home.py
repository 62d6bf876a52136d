"""The App Home tab, end to end: a signed ``app_home_opened`` event makes the bot publish
(``views.publish`` on the Slack stand-in) what the user follows, what runs in their
channels, the regular scan, the subscriptions with their levels and the health summary."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.views import View

from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import ALICE, CHANNEL, BotHarness

BOB = "U0BOB"


def published(bot: BotHarness, user: str, count: int) -> list[dict[str, Any]]:
    bot.wait_until(lambda: len(bot.slack.home_views(user)) >= count)
    return bot.slack.home_views(user)


def test_opening_the_home_tab_publishes_what_the_user_follows_and_the_health(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
    bot.follow("alpine:3.16")
    bot.command("subscribe quiet mention=<!subteam^S0ONCALL|@oncall>", channel_id=CHANNEL)
    bot.wait_until(lambda: bot.runtime.store.subscription(CHANNEL) is not None)
    bot.command("subscribe", channel_id="C0OTHER", user_id=BOB)
    bot.wait_until(lambda: bot.runtime.store.subscription("C0OTHER") is not None)
    console_clock.advance(STEP)
    bot.poll()

    assert bot.open_home(user_id=ALICE).status_code == 200
    (view,) = published(bot, ALICE, 1)

    View(**view).validate_json()  # slack_sdk's own model accepts it
    text = json.dumps(view)
    assert view["type"] == "home"
    assert "Scans you follow" in text
    assert "alpine:3.16" in text
    assert f"<#{CHANNEL}>" in text
    assert "*quiet*" in text
    assert "<#C0OTHER>" in text  # every subscription, with its level
    assert "Regular registry scan" in text
    assert "Health" in text
    assert "Console" in text  # the findings of /scanprogress status


def test_opening_the_home_tab_again_within_10_s_publishes_once(bot: BotHarness) -> None:
    """The listener decides before it acks (bolt runs it on the request's thread)."""
    for _ in range(5):
        assert bot.open_home(user_id=BOB).status_code == 200
        bot.clock.advance(1)
    published(bot, BOB, 1)
    assert len(bot.slack.calls_to("views.publish")) == 1

    bot.clock.advance(10)
    bot.open_home(user_id=BOB)
    assert len(published(bot, BOB, 2)) == 2
    bot.open_home(user_id=ALICE)  # another user is not held back by Bob's
    published(bot, ALICE, 1)


def test_a_user_who_follows_nothing_is_told_how_to_start(bot: BotHarness) -> None:
    bot.open_home(user_id=BOB)
    (view,) = published(bot, BOB, 1)

    assert "Follow one with" in json.dumps(view)
