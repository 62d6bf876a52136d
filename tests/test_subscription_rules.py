"""The rules of what a subscribed channel hears: snooze expiry, who is pinged, levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.regular import Level, Subscription
from bot.slack.listeners.home import HomeThrottle
from bot.watcher.regular import Hearing

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ONCALL = "<!subteam^S0ONCALL>"


def subscription(**values: object) -> Subscription:
    base: dict[str, object] = {
        "channel_id": "C0SUB",
        "created_by": "U0ALICE",
        "source": "command",
        "created_at": NOW - timedelta(days=1),
        "level": Level.QUIET,
        "mention": ONCALL,
    }
    base.update(values)
    return Subscription(**base)  # type: ignore[arg-type]


def test_a_snooze_holds_until_its_end_and_then_ends_by_itself() -> None:
    sub = subscription(snoozed_until=NOW + timedelta(hours=1))
    assert sub.snoozed(NOW)
    assert sub.snoozed(NOW + timedelta(minutes=59))
    assert not sub.snoozed(NOW + timedelta(hours=1))
    assert not subscription().snoozed(NOW)


def test_nobody_is_pinged_while_snoozed_and_the_mention_returns_after() -> None:
    sub = subscription(snoozed_until=NOW + timedelta(hours=1))
    assert sub.alert_mention(NOW) == ""
    assert sub.alert_mention(NOW + timedelta(hours=2)) == ONCALL


def test_what_a_channel_hears_follows_its_subscription_and_defaults_to_normal() -> None:
    assert Hearing.of(None, NOW) == Hearing(Level.NORMAL, snoozed=False, mention="")
    snoozed = subscription(level=Level.VERBOSE, snoozed_until=NOW + timedelta(days=1))
    assert Hearing.of(snoozed, NOW) == Hearing(Level.VERBOSE, snoozed=True, mention="")
    assert Hearing.of(subscription(), NOW) == Hearing(Level.QUIET, snoozed=False, mention=ONCALL)


def test_the_home_tab_is_published_at_most_once_per_user_every_10_s() -> None:
    now = [NOW]
    throttle = HomeThrottle(timedelta(seconds=10), lambda: now[0])
    assert throttle.take("U0ALICE")
    assert not throttle.take("U0ALICE")
    assert throttle.take("U0BOB")
    now[0] += timedelta(seconds=9)
    assert not throttle.take("U0ALICE")
    now[0] += timedelta(seconds=1)
    assert throttle.take("U0ALICE")
