"""bot.domain.estimate: a rate and the time left, never from one sample, worded for people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.estimate import MIN_IMAGES, MIN_SECONDS, estimate, estimate_text, sample
from bot.domain.events import Estimate
from bot.domain.follow_state import FollowState
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.steps import Step

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def scanning(scanned: int, total: int = 100) -> ProgressSnapshot:
    return ProgressSnapshot(phase=Phase.SCANNING, image_scan=Step(total=total, scanned=scanned))


def sampled(scanned: int, at: datetime = T0) -> FollowState:
    return FollowState(rate_at=at, rate_scanned=scanned)


# --- sample -----------------------------------------------------------------------------


def test_the_first_sample_is_taken_when_the_image_scan_has_a_total() -> None:
    follow = sample(FollowState(), scanning(10), T0)
    assert (follow.rate_at, follow.rate_scanned) == (T0, 10)


def test_the_first_sample_is_taken_once() -> None:
    first = sample(FollowState(), scanning(10), T0)
    later = sample(first, scanning(50), T0 + timedelta(minutes=5))
    assert later == first


def test_no_sample_while_discovering_or_before_the_total_is_known() -> None:
    discovering = ProgressSnapshot(phase=Phase.DISCOVERING, discovery=Step(total=5, scanned=1))
    assert sample(FollowState(), discovering, T0).rate_at is None
    assert sample(FollowState(), scanning(0, total=0), T0).rate_at is None


# --- estimate ---------------------------------------------------------------------------


def test_never_an_estimate_from_a_single_sample() -> None:
    """Without a first sample there is nothing to measure a rate against."""
    assert estimate(FollowState(), scanning(40), T0 + timedelta(hours=1)) is None


def test_an_estimate_at_the_first_sample_itself_is_none() -> None:
    follow = sample(FollowState(), scanning(10), T0)
    assert estimate(follow, scanning(10), T0) is None


def test_an_estimate_needs_enough_time_since_the_first_sample() -> None:
    too_soon = T0 + timedelta(seconds=MIN_SECONDS - 1)
    assert estimate(sampled(10), scanning(30), too_soon) is None


def test_an_estimate_needs_enough_images_scanned_since_the_first_sample() -> None:
    later = T0 + timedelta(minutes=10)
    assert estimate(sampled(10), scanning(10 + MIN_IMAGES - 1), later) is None
    assert estimate(sampled(10), scanning(10 + MIN_IMAGES), later) is not None


def test_the_rate_is_images_per_minute_since_the_first_sample() -> None:
    """40 images in 10 minutes: 4 images/min; 48 left: 12 minutes."""
    value = estimate(sampled(12), scanning(52), T0 + timedelta(minutes=10))
    assert value == Estimate(per_minute=4.0, remaining=timedelta(minutes=12))


def test_counts_going_backwards_give_no_estimate() -> None:
    """A console that reports fewer scanned images than before (a restarted scan) gives no
    negative or zero rate."""
    assert estimate(sampled(50), scanning(20), T0 + timedelta(minutes=10)) is None


def test_a_clock_earlier_than_the_first_sample_gives_no_estimate() -> None:
    assert estimate(sampled(10), scanning(60), T0 - timedelta(minutes=10)) is None


def test_no_estimate_outside_the_image_scan() -> None:
    done = ProgressSnapshot(phase=Phase.COMPLETE, image_scan=Step(total=100, scanned=100))
    assert estimate(sampled(10), done, T0 + timedelta(minutes=10)) is None


def test_when_every_image_is_scanned_nothing_is_left() -> None:
    value = estimate(sampled(10), scanning(100, total=100), T0 + timedelta(minutes=10))
    assert value is not None
    assert value.remaining == timedelta(0)


@given(
    first=st.integers(min_value=0, max_value=10_000),
    now_count=st.integers(min_value=0, max_value=10_000),
    total=st.integers(min_value=1, max_value=10_000),
    seconds=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
def test_an_estimate_is_either_none_or_a_positive_rate_and_a_non_negative_time_left(
    first: int, now_count: int, total: int, seconds: float
) -> None:
    snap = scanning(min(now_count, total), total=total)
    value = estimate(sampled(first), snap, T0 + timedelta(seconds=seconds))
    if value is not None:
        assert value.per_minute > 0
        assert value.remaining >= timedelta(0)


# --- estimate_text ----------------------------------------------------------------------


def test_the_wording_gives_minutes_left_and_the_rate() -> None:
    text = estimate_text(Estimate(per_minute=4.0, remaining=timedelta(minutes=12)))
    assert text == "~12 min left at 4 images/min"


def test_under_a_minute_left_is_worded_as_such() -> None:
    text = estimate_text(Estimate(per_minute=30.0, remaining=timedelta(seconds=20)))
    assert text == "< 1 min left at 30 images/min"


def test_two_hours_or_more_are_worded_in_hours() -> None:
    text = estimate_text(Estimate(per_minute=2.0, remaining=timedelta(minutes=150)))
    assert text == "~2.5 h left at 2 images/min"


def test_rates_below_one_image_a_minute_are_shown_in_tenths() -> None:
    text = estimate_text(Estimate(per_minute=0.5, remaining=timedelta(minutes=10)))
    assert text == "~10 min left at 0.5 images/min"


def test_a_zero_rate_or_negative_time_left_is_worded_without_error() -> None:
    """The wording never fails, whatever an Estimate holds (it is also read back from JSON)."""
    assert estimate_text(Estimate(per_minute=0.0, remaining=timedelta(minutes=5))) == (
        "~5 min left at 0.0 images/min"
    )
    assert estimate_text(Estimate(per_minute=3.0, remaining=timedelta(minutes=-5))) == (
        "< 1 min left at 3 images/min"
    )
