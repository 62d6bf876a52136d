"""``SCANBOT_MAX_SUBSCRIPTIONS``: no more channels subscribe than the setting allows.

Every subscribed channel costs Slack edits on each regular scan, which delay everything
else the bot posts.  Before the cap, any member could subscribe any number of channels:
the refusal test failed (the third channel was subscribed).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.harness import running_bot


def test_a_channel_past_the_limit_is_refused_with_the_setting_and_what_to_do(
    tmp_path: Path,
) -> None:
    with running_bot(tmp_path, scanbot_max_subscriptions=2) as bot:
        for n, channel in enumerate(("C0SUBA", "C0SUBB", "C0SUBC"), start=1):
            bot.command("subscribe", channel_id=channel)
            bot.slack.wait_for_responses(n)

        subscribed = {s.channel_id for s in bot.runtime.store.subscriptions()}
        assert subscribed == {"C0SUBA", "C0SUBB"}
        answer = json.dumps(bot.slack.responses[-1].body)
        assert "No more channels can subscribe" in answer
        assert "SCANBOT_MAX_SUBSCRIPTIONS" in answer

        bot.command("subscribe", channel_id="C0SUBA")  # already subscribed: still fine
        bot.slack.wait_for_responses(4)
        assert "No more channels" not in json.dumps(bot.slack.responses[-1].body)


def test_deploy_time_subscriptions_are_not_refused_by_the_limit(tmp_path: Path) -> None:
    channels = ("C0DEPA", "C0DEPB", "C0DEPC")
    with running_bot(
        tmp_path, scanbot_max_subscriptions=1, scanbot_notify_channels=",".join(channels)
    ) as bot:
        assert {s.channel_id for s in bot.runtime.store.subscriptions()} == set(channels)
