"""What a subscribed channel hears, end to end through signed slash commands and button
clicks: its level (quiet, normal, verbose), who is pinged and when, and snoozing.

Sandbox timeline: 2 repositories then 3 images, one item per STEP seconds of console time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runtime import build_runtime
from bot.sandbox.console import SandboxConsoleConfig
from bot.slack import blocks
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import BotHarness, running_bot

ADMIN = "U0ADMIN"
BOB = "U0BOB"
QUIET, NORMAL, VERBOSE = "C0QUIET", "C0NORMAL", "C0VERBOSE"
ONCALL_TYPED = "<!subteam^S0ONCALL|@oncall>"  # as Slack escapes it in a command's text
ONCALL = "<!subteam^S0ONCALL>"
CAROL_TYPED = "<@U0CAROL|carol>"
CAROL = "<@U0CAROL>"


@pytest.fixture
def bot(tmp_path: Path, console_clock: ManualClock) -> Iterator[BotHarness]:
    """Admins set (only they manage subscriptions), stalls after 30 s, progress replies of a
    normal channel paced to one an hour."""
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path,
        console_config=config,
        console_clock=console_clock,
        scanbot_admin_users=ADMIN,
        scanbot_stall_minutes=0.5,
        scanbot_thread_update_seconds=3600,
    ) as harness:
        yield harness


def command(bot: BotHarness, text: str, channel: str, user: str = ADMIN) -> str:
    """Run ``/scanprogress text`` and return the JSON of its (ephemeral) answer."""
    before = len(bot.slack.responses)
    bot.command(text, channel_id=channel, user_id=user)
    responses = bot.slack.wait_for_responses(before + 1)
    return json.dumps(responses[before].body)


def channel_texts(bot: BotHarness, channel: str) -> list[str]:
    """Every message in ``channel``: parents and their replies, as JSON."""
    texts: list[str] = []
    for parent in bot.slack.messages(channel):
        texts.append(json.dumps(parent))
        texts.extend(json.dumps(reply) for reply in bot.slack.thread(channel, parent["ts"]))
    return texts


def run_scan_with_a_stall(bot: BotHarness, console_clock: ManualClock) -> None:
    """A regular scan that moves, stalls for 10 min, then completes."""
    bot.console.start_regular_scan(repositories=2, images=3)
    bot.poll()
    for _ in range(3):
        console_clock.advance(STEP)
        bot.clock.advance(STEP)
        bot.poll()
    bot.console.stall(600)
    for _ in range(4):
        bot.clock.advance(20)
        bot.poll()
    console_clock.advance(600 + 10 * STEP)
    bot.clock.advance(20)
    bot.poll()


def test_each_level_hears_what_it_chose_and_only_alerts_ping(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    quiet = command(bot, f"subscribe quiet mention={ONCALL_TYPED}", QUIET)
    command(bot, "subscribe", NORMAL)
    command(bot, f"subscribe verbose mention={CAROL_TYPED}", VERBOSE)
    assert "*quiet*" in quiet
    assert ONCALL in quiet

    bot.console.start_regular_scan(repositories=2, images=3)
    bot.poll()
    assert bot.slack.messages(QUIET) == []  # quiet: no start message
    assert len(bot.slack.messages(NORMAL)) == 1
    assert len(bot.slack.messages(VERBOSE)) == 1
    bot.console.clear_requests()

    for _ in range(3):
        console_clock.advance(STEP)
        bot.clock.advance(STEP)
        bot.poll()
    bot.console.stall(600)
    for _ in range(4):
        bot.clock.advance(20)
        bot.poll()
    console_clock.advance(600 + 10 * STEP)
    bot.clock.advance(20)
    bot.poll()

    quiet_texts, normal_texts = channel_texts(bot, QUIET), channel_texts(bot, NORMAL)
    verbose_texts = channel_texts(bot, VERBOSE)
    # quiet: the parent (posted with the stall), the stall, the end; nothing else.
    assert len(quiet_texts) == 3
    assert "looks stalled" in quiet_texts[1]
    assert "Regular registry scan complete" in quiet_texts[-1]
    # verbose hears every change of the counts; normal only its phase changes.
    progress = "Scanned "
    assert sum(progress in t for t in verbose_texts) > sum(progress in t for t in normal_texts)
    # The mention is in the stall alert only: never in progress or a successful end.
    assert [t for t in quiet_texts if ONCALL in t] == [quiet_texts[1]]
    assert [t for t in verbose_texts if CAROL in t] == [
        t for t in verbose_texts if "looks stalled" in t
    ]
    assert not [t for t in normal_texts if "subteam" in t or CAROL in t]
    assert all("Snooze 1 h" in t for t in quiet_texts if "looks stalled" in t)


def test_subscribing_again_changes_the_level_and_the_list_shows_level_and_mention(
    bot: BotHarness,
) -> None:
    command(bot, "subscribe", QUIET)
    again = command(bot, f"subscribe quiet mention={ONCALL_TYPED}", QUIET)
    listed = command(bot, "subscriptions", QUIET)

    assert "is subscribed to the regular registry scan at level *quiet*" in again
    (subscription,) = bot.runtime.store.subscriptions()
    assert subscription.level.value == "quiet"
    assert subscription.mention == ONCALL
    assert "*quiet*" in listed
    assert f"pings {ONCALL}" in listed

    command(bot, "subscribe verbose mention=none", QUIET)
    (changed,) = bot.runtime.store.subscriptions()
    assert (changed.level.value, changed.mention) == ("verbose", "")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("subscribe loud", "is not a level or a mention"),
        ("subscribe mention=@oncall", "is not a person or a user group"),
        ("subscribe mention=<!here>", "is not a person or a user group"),
        ("subscribe quiet verbose", "Give one level"),
    ],
)
def test_bad_subscribe_options_are_answered_with_how_to_fix_them(
    bot: BotHarness, text: str, says: str
) -> None:
    answer = bot.command(text, channel_id=QUIET, user_id=ADMIN).text  # told in the ack

    assert says in answer
    assert "subscribe quiet mention=" in answer  # an example that works
    assert "oncall-team" in answer
    assert bot.runtime.store.subscriptions() == []


def test_a_user_not_allowed_is_refused_naming_the_setting_that_decides(bot: BotHarness) -> None:
    for text in ("subscribe quiet", "unsubscribe", "unsnooze"):
        answer = command(bot, text, QUIET, user=BOB)
        assert "SCANBOT_ADMIN_USERS" in answer
        assert "you may not change this channel" in answer
    assert bot.runtime.store.subscriptions() == []


def test_snooze_from_the_stall_message_survives_a_restart_and_unsnooze_ends_it(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    command(bot, f"subscribe quiet mention={ONCALL_TYPED}", QUIET)

    bot.click(blocks.SNOOZE_HOUR_ACTION, QUIET, user_id=BOB, channel_id=QUIET)
    (refused,) = bot.slack.wait_for_responses(2)[1:]
    assert "SCANBOT_ADMIN_USERS" in json.dumps(refused.body)
    subscription = bot.runtime.store.subscription(QUIET)
    assert subscription is not None
    assert subscription.snoozed_until is None

    bot.click(blocks.SNOOZE_HOUR_ACTION, QUIET, user_id=ADMIN, channel_id=QUIET)
    told = bot.slack.wait_for_responses(3)[2]
    assert "snoozed" in json.dumps(told.body)
    assert told.body.get("response_type") == "in_channel"

    # Another process on the same database (a restart) still sees the snooze.
    second = build_runtime(bot.runtime.settings, clock=bot.clock, channel_interval=0)
    try:
        restored = second.store.subscription(QUIET)
    finally:
        second.shutdown()
    assert restored is not None
    assert restored.snoozed(bot.clock())
    assert "snoozed until" in command(bot, "subscriptions", QUIET)

    run_scan_with_a_stall(bot, console_clock)
    texts = channel_texts(bot, QUIET)
    assert not [t for t in texts if "looks stalled" in t]  # no stall reply while snoozed
    assert not [t for t in texts if ONCALL in t]  # and no mention
    assert "Regular registry scan complete" in texts[-1]  # the end is still told

    assert "The snooze in" in command(bot, "unsnooze", QUIET)
    after = bot.runtime.store.subscription(QUIET)
    assert after is not None
    assert not after.snoozed(bot.clock())


def test_a_snooze_ends_by_itself(bot: BotHarness) -> None:
    command(bot, "subscribe quiet", QUIET)
    bot.click(blocks.SNOOZE_HOUR_ACTION, QUIET, user_id=ADMIN, channel_id=QUIET)
    bot.slack.wait_for_responses(2)

    bot.clock.advance(3601)

    subscription = bot.runtime.store.subscription(QUIET)
    assert subscription is not None
    assert not subscription.snoozed(bot.clock())
    assert "snoozed until" not in command(bot, "subscriptions", QUIET)


def test_snoozing_a_channel_that_is_not_subscribed_says_so(bot: BotHarness) -> None:
    bot.click(blocks.SNOOZE_DAY_ACTION, QUIET, user_id=ADMIN, channel_id=QUIET)
    (answer,) = bot.slack.wait_for_responses(1)
    assert "is not subscribed" in json.dumps(answer.body)
    assert "is not subscribed" in command(bot, "unsnooze", QUIET)


def test_a_channel_from_the_setting_is_normal_with_no_mention(
    tmp_path: Path, console_clock: ManualClock
) -> None:
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path,
        console_config=config,
        console_clock=console_clock,
        scanbot_notify_channels=NORMAL,
    ) as harness:
        (subscription,) = harness.runtime.store.subscriptions()
    assert subscription.level.value == "normal"
    assert subscription.mention == ""
    assert subscription.source == "setting"
