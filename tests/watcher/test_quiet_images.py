"""bot.watcher.quiet_images: an image whose watches were all left alone with an answer is
passed over whole while its watches and its answer are the same and the follow clock is
short of the first stall or expiry; anything else is looked at, watch by watch.

The units build listings and answers by hand; the last tests run the real poll cycle
against the simulated console over HTTP and show that passing over changes nothing a
user sees: a new answer, a stall and an expiry are acted on as before."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.domain.console_types import ProgressEntry
from bot.domain.follow_state import FollowState
from bot.domain.images import ScanTarget
from bot.domain.steps import Step
from bot.domain.watch import Watch, WatchState
from bot.sandbox.console import SandboxConsoleConfig
from bot.watcher.context import Answer
from bot.watcher.lifecycle import Outcome
from bot.watcher.open_watches import Listing
from bot.watcher.quiet_images import QuietImages
from tests.support.clocks import ManualClock
from tests.support.constants import STEP
from tests.support.harness import CHANNEL, BotHarness, running_bot

AT = datetime(2026, 1, 1, tzinfo=UTC)
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
NGINX = ScanTarget(repo="library/nginx", tag="1.25")


def watch(watch_id: int, target: ScanTarget, *, moved_after: float = 0.0) -> Watch:
    return Watch(
        id=watch_id,
        target=target,
        channel_id="C1",
        requester_id="U1",
        state=WatchState.ACTIVE,
        created_at=AT,
        updated_at=AT,
        follow=FollowState(moved_after=moved_after),
    )


def answer() -> Answer:
    return Answer.of([ProgressEntry(is_scan_ongoing=True)])


def listing(watches: tuple[Watch, ...], *, clock: float = 100.0) -> Listing:
    return Listing(clock=clock, watches=watches, starts=tuple(0.0 for _ in watches))


def stall_at(seconds: float) -> Callable[[Watch], float]:
    """A bound as Quiet gives it: the watch may stall ``seconds`` after it last moved."""
    return lambda w: w.follow.moved_after + seconds


WATCHES = (watch(1, ALPINE), watch(2, NGINX), watch(3, ALPINE))


def quiet_after_one_cycle(
    answers: dict[int, Answer], *, bound: float = 1000.0
) -> tuple[QuietImages, Listing]:
    images = QuietImages()
    first = listing(WATCHES)
    plan = images.plan(first, answers)
    assert list(plan.look_at) == [0, 1, 2]
    assert plan.passed == 0
    images.remember(first, answers, set(), stall_at(bound))
    return images, first


def test_an_image_all_of_whose_watches_were_quiet_is_passed_over_next_cycle() -> None:
    alpine, nginx = answer(), answer()
    answers = {1: alpine, 2: nginx, 3: alpine}
    images, first = quiet_after_one_cycle(answers)

    plan = images.plan(replace(first, clock=150.0), answers)

    assert list(plan.look_at) == []
    assert plan.passed == 3


def test_an_image_whose_answer_changed_is_looked_at_watch_by_watch_in_listing_order() -> None:
    alpine, nginx = answer(), answer()
    images, first = quiet_after_one_cycle({1: alpine, 2: nginx, 3: alpine})
    moved = Answer.of([ProgressEntry(image_scan=Step(total=4, scanned=1), is_scan_ongoing=True)])

    plan = images.plan(first, {1: moved, 2: nginx, 3: moved})

    assert list(plan.look_at) == [0, 2]
    assert plan.passed == 1


def test_an_image_one_of_whose_watches_has_no_answer_this_cycle_is_looked_at() -> None:
    alpine, nginx = answer(), answer()
    images, first = quiet_after_one_cycle({1: alpine, 2: nginx, 3: alpine})

    plan = images.plan(first, {1: alpine, 2: nginx})  # watch 3's answer did not arrive

    assert list(plan.look_at) == [0, 2]


def test_an_image_is_looked_at_once_the_follow_clock_reaches_its_first_stall() -> None:
    alpine, nginx = answer(), answer()
    answers = {1: alpine, 2: nginx, 3: alpine}
    images, first = quiet_after_one_cycle(answers, bound=300.0)

    assert images.plan(replace(first, clock=299.9), answers).passed == 3
    assert list(images.plan(replace(first, clock=300.0), answers).look_at) == [0, 1, 2]


def test_the_first_watch_to_stall_decides_when_its_image_is_looked_at() -> None:
    shared = answer()
    watches = (watch(1, ALPINE, moved_after=50.0), watch(2, ALPINE, moved_after=10.0))
    first = Listing(clock=100.0, watches=watches, starts=(0.0, 0.0))
    images = QuietImages()
    images.plan(first, {1: shared, 2: shared})
    images.remember(first, {1: shared, 2: shared}, set(), stall_at(300.0))

    assert images.plan(replace(first, clock=309.0), {1: shared, 2: shared}).passed == 2
    assert images.plan(replace(first, clock=310.0), {1: shared, 2: shared}).passed == 0


def test_a_loud_image_is_looked_at_again_and_remembered_once_it_is_quiet() -> None:
    alpine, nginx = answer(), answer()
    answers = {1: alpine, 2: nginx, 3: alpine}
    images = QuietImages()
    first = listing(WATCHES)
    images.plan(first, answers)
    images.remember(first, answers, {ALPINE.key}, stall_at(1000.0))  # alpine owed something

    plan = images.plan(first, answers)
    assert list(plan.look_at) == [0, 2]
    assert plan.passed == 1
    images.remember(first, answers, set(), stall_at(1000.0))

    assert images.plan(first, answers).passed == 3


def test_an_image_looked_at_for_a_new_answer_is_remembered_with_it() -> None:
    alpine, nginx = answer(), answer()
    images, first = quiet_after_one_cycle({1: alpine, 2: nginx, 3: alpine})
    moved = Answer.of([ProgressEntry(image_scan=Step(total=4, scanned=1), is_scan_ongoing=True)])
    answers = {1: moved, 2: nginx, 3: moved}
    images.plan(first, answers)
    images.remember(first, answers, set(), stall_at(1000.0))

    assert images.plan(first, answers).passed == 3
    assert images.plan(first, {1: alpine, 2: nginx, 3: alpine}).passed == 1  # not the old one


def test_a_new_listing_keeps_what_it_knew_of_images_whose_watches_are_the_same() -> None:
    alpine, nginx = answer(), answer()
    images, _first = quiet_after_one_cycle({1: alpine, 2: nginx, 3: alpine})
    joined = (*WATCHES, watch(4, NGINX))  # a new follow of nginx: a new list
    answers = {1: alpine, 2: nginx, 3: alpine, 4: nginx}

    plan = images.plan(listing(joined), answers)

    assert list(plan.look_at) == [1, 3]
    assert plan.passed == 2


def test_a_watch_whose_row_changed_makes_its_image_looked_at() -> None:
    alpine, nginx = answer(), answer()
    answers = {1: alpine, 2: nginx, 3: alpine}
    images, _first = quiet_after_one_cycle(answers)
    changed = (WATCHES[0], WATCHES[1], replace(WATCHES[2], parent_ts="1700000000.000100"))

    assert list(images.plan(listing(changed), answers).look_at) == [0, 2]


def test_nothing_is_remembered_from_a_listing_the_last_plan_was_not_for() -> None:
    alpine, nginx = answer(), answer()
    answers = {1: alpine, 2: nginx, 3: alpine}
    images = QuietImages()
    images.plan(listing(WATCHES), answers)
    other = listing((*WATCHES[:2], watch(3, ALPINE)))

    images.remember(other, answers, set(), stall_at(1000.0))

    assert images.plan(other, answers).passed == 0


# --- the real poll cycle -----------------------------------------------------------------


def test_a_passed_over_image_whose_scan_moves_is_told_in_its_threads(
    bot: BotHarness, console_clock: ManualClock
) -> None:
    bot.console.start_on_demand_scan("library/alpine", tag="3.16", discovery_total=1, images=4)
    first_ts = bot.follow()
    second_ts = bot.follow(channel_id="C0SECOND")
    bot.poll()
    for _ in range(3):
        bot.clock.advance(2)
        assert bot.poll().outcomes == {Outcome.UNCHANGED: 2}
    assert bot.runtime.quiet_images.remembered == 1  # passed over since the second

    console_clock.advance(STEP + 1)  # discovery done: a new answer
    bot.clock.advance(2)

    assert bot.poll().outcomes == {Outcome.REPLIED: 2}
    assert len(bot.slack.thread(CHANNEL, first_ts)) == 1
    assert len(bot.slack.thread("C0SECOND", second_ts)) == 1
    edited = {call.params["ts"] for call in bot.slack.calls_to("chat.update")}
    assert edited == {first_ts, second_ts}


def test_a_passed_over_image_still_expires_when_its_time_is_up(
    tmp_path: Path, console_clock: ManualClock
) -> None:
    config = SandboxConsoleConfig(step_seconds=STEP)
    with running_bot(
        tmp_path,
        console_config=config,
        console_clock=console_clock,
        scanbot_max_watch_seconds=120,
    ) as bot:
        bot.console.start_on_demand_scan("library/alpine", tag="3.16", images=4)
        bot.follow()
        bot.poll()
        outcomes = []
        remembered = []
        for _ in range(13):
            bot.clock.advance(10)
            outcomes.append(bot.poll().outcomes)
            remembered.append(bot.runtime.quiet_images.remembered)

        assert outcomes[:11] == [{Outcome.UNCHANGED: 1}] * 11
        assert remembered[:11] == [1] * 11  # the image was passed over until it expired
        assert outcomes[11] == {Outcome.EXPIRED: 1}
        assert outcomes[12] == {}
