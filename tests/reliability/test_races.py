"""Races of issue 11, through the real HTTP handler and the Slack stand-in.

* A parent whose posting outlives the sender's thread lease (Slack's Retry-After slept in
  the WebClient) is still posted once: the poll cycle running 61+ s after the follow,
  while the parent is being posted, does not post a second one.
* A Stop click racing a completing cycle: the thread ends with exactly one final reply,
  "Scan complete" or "stopped following", never both.
"""

from __future__ import annotations

import json
import threading

import pytest

from bot.domain.watch import WatchState
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import CHANNEL, BotHarness


def finals(bot: BotHarness, parent_ts: str) -> list[str]:
    """The thread's replies that end a watch, as text."""
    texts = [json.dumps(m) for m in bot.slack.thread(CHANNEL, parent_ts)]
    return [t for t in texts if "Scan complete" in t or "stopped following" in t]


def test_a_parent_still_being_posted_after_61_s_is_not_posted_twice_by_the_poll_cycle(
    bot: BotHarness,
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    # The parent's post is answered 429 Retry-After 2: the WebClient sleeps it out while
    # holding the thread.  Meanwhile the bot's clock moves 61 s and a poll cycle runs.
    bot.slack.rate_limit_next("chat.postMessage", retry_after=2, count=1)
    bot.command("alpine:3.16")
    bot.slack.wait_for_calls("chat.postMessage", 1)
    bot.clock.advance(61)
    bot.poll()  # the cycle sees a PENDING watch over a minute old; the sender drains
    bot.runtime.work.wait_idle()
    bot.clock.advance(5)
    bot.poll()

    assert len(bot.slack.messages(CHANNEL)) == 1
    (watch,) = bot.runtime.store.list_open()
    assert watch.state is WatchState.ACTIVE
    assert watch.parent_ts == bot.slack.messages(CHANNEL)[0]["ts"]


@pytest.mark.parametrize(
    "rounds",
    [
        pytest.param(8, id="8"),
        pytest.param(60, marks=[pytest.mark.slow, pytest.mark.timeout(900)], id="60"),
    ],
)
def test_a_stop_racing_a_completing_cycle_leaves_exactly_one_final_reply(
    bot: BotHarness, console_clock: ManualClock, rounds: int
) -> None:
    outcomes: dict[str, int] = {"complete": 0, "stopped": 0}
    for n in range(rounds):
        image = f"team/race{n}"
        bot.console.start_on_demand_scan(image, tag="1.0", discovery_total=1, images=1)
        parent_ts = bot.follow(f"{image}:1.0")
        watch = bot.runtime.store.find_open(channel_id=CHANNEL, target_key=f"{image}:1.0")
        assert watch is not None
        console_clock.advance(10 * STEP)  # the next cycle completes the scan
        go = threading.Barrier(2)

        def cycle(go: threading.Barrier = go) -> None:
            go.wait()
            bot.runtime.poll_once()

        poller = threading.Thread(target=cycle)
        poller.start()
        go.wait()
        assert bot.click_stop(watch.id, message_ts=parent_ts).status_code == 200
        poller.join()
        bot.runtime.work.wait_idle()
        bot.clock.advance(600)
        bot.deliver()

        said = finals(bot, parent_ts)
        assert len(said) == 1, f"round {n}: {said}"
        outcomes["complete" if "Scan complete" in said[0] else "stopped"] += 1
    print(f"stop vs completion over {rounds} rounds: {outcomes}")
