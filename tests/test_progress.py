"""The progress model: phases, clamping, aggregation, summary, change detection, JSON round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.console_types import ProgressEntry
from bot.domain.progress import (
    ERROR_LIMIT,
    SUSPICIOUS_NOTE,
    TITLE_LIMIT,
    Phase,
    ProgressSnapshot,
    completed_after_empty,
    interpret,
    snapshot,
)
from bot.domain.steps import MAX_STEP_COUNT, Step

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def entry(
    disc: tuple[int, int] = (0, 0),
    scan: tuple[int, int] = (0, 0),
    *,
    ongoing: bool = True,
    disc_title: str = "",
    scan_title: str = "",
    disc_error: str = "",
    scan_error: str = "",
    start: datetime | None = None,
) -> ProgressEntry:
    """An entry with (total, scanned) per step."""
    return ProgressEntry(
        discovery=Step(total=disc[0], scanned=disc[1], title=disc_title, error=disc_error),
        image_scan=Step(total=scan[0], scanned=scan[1], title=scan_title, error=scan_error),
        is_scan_ongoing=ongoing,
        spec_scan_start_time=start,
    )


# --- phases ------------------------------------------------------------------------------


def test_empty_answer_is_idle() -> None:
    snap = snapshot([])
    assert snap.phase is Phase.IDLE
    assert snap.entries == 0
    assert snap.summary == "No scan in progress"


def test_discovery_not_done_is_discovering() -> None:
    snap = snapshot([entry((4, 2), (2, 0))])
    assert snap.phase is Phase.DISCOVERING
    assert snap.summary == "Step 1/2 discovering: 2/4 (50%)"


def test_nothing_counted_yet_is_discovering() -> None:
    snap = snapshot([entry((0, 0), (0, 0))])
    assert snap.phase is Phase.DISCOVERING
    assert snap.summary == "Step 1/2 discovering: starting"


def test_discovery_done_is_scanning() -> None:
    snap = snapshot([entry((1, 1), (10, 3))])
    assert snap.phase is Phase.SCANNING
    assert snap.summary == "Step 2/2 scanning images: 3/10 (30%)"


def test_unknown_discovery_total_but_known_images_is_scanning() -> None:
    assert snapshot([entry((0, 0), (5, 1))]).phase is Phase.SCANNING


def test_not_ongoing_without_error_is_complete() -> None:
    snap = snapshot([entry((1, 1), (10, 10), ongoing=False)])
    assert snap.phase is Phase.COMPLETE
    assert snap.summary == "Scan complete: 10/10 images scanned"


def test_complete_summary_uses_singular_for_one_image() -> None:
    snap = snapshot([entry((1, 1), (1, 1), ongoing=False)])
    assert snap.summary == "Scan complete: 1/1 image scanned"


def test_complete_without_images_says_so() -> None:
    assert snapshot([entry(ongoing=False)]).summary == "Scan complete: no images to scan"


def test_not_ongoing_with_error_is_failed() -> None:
    snap = snapshot([entry((1, 1), (1, 0), ongoing=False, scan_error="pull denied")])
    assert snap.phase is Phase.FAILED
    assert snap.error == "pull denied"
    assert snap.summary == "Scan failed: pull denied"


def test_error_while_ongoing_keeps_the_running_phase() -> None:
    snap = snapshot([entry((1, 1), (4, 1), disc_error="registry timeout")])
    assert snap.phase is Phase.SCANNING
    assert snap.error == "registry timeout"


def test_failed_summary_without_error_text() -> None:
    assert ProgressSnapshot(phase=Phase.FAILED).summary == "Scan failed"


# --- clamping and aggregation ---------------------------------------------------------


def test_negative_counts_become_zero() -> None:
    snap = snapshot([entry((-3, -1), (-2, -5))])
    assert (snap.discovery.total, snap.discovery.scanned) == (0, 0)
    assert (snap.image_scan.total, snap.image_scan.scanned) == (0, 0)


def test_scanned_above_total_is_clamped_to_total() -> None:
    snap = snapshot([entry((2, 9), (3, 7))])
    assert (snap.discovery.total, snap.discovery.scanned) == (2, 2)
    assert (snap.image_scan.total, snap.image_scan.scanned) == (3, 3)


def test_scanned_without_total_raises_the_total() -> None:
    snap = snapshot([entry((0, 4), (0, 0))])
    assert (snap.discovery.total, snap.discovery.scanned) == (4, 4)
    assert snap.phase is Phase.SCANNING


def test_several_entries_are_summed_and_any_ongoing_counts() -> None:
    early = T0 - timedelta(minutes=3)
    snap = snapshot(
        [
            entry((2, 2), (5, 5), ongoing=False, scan_title="registry A", start=T0),
            entry((3, 1), (4, 0), ongoing=True, scan_title="registry B", start=early),
        ]
    )
    assert snap.entries == 2
    assert snap.phase is Phase.DISCOVERING
    assert (snap.discovery.total, snap.discovery.scanned) == (5, 3)
    assert (snap.image_scan.total, snap.image_scan.scanned) == (9, 5)
    assert snap.started_at == early
    assert snap.image_scan.title == "registry A; registry B"


def test_titles_take_the_first_non_empty_and_skip_duplicates() -> None:
    snap = snapshot([entry(disc_title=""), entry(disc_title="A"), entry(disc_title="A")])
    assert snap.discovery.title == "A"


def test_errors_are_deduplicated_joined_and_truncated() -> None:
    snap = snapshot(
        [
            entry(ongoing=False, disc_error="boom", scan_error="bang"),
            entry(ongoing=False, disc_error="boom"),
        ]
    )
    assert snap.error == "boom; bang"
    huge = snapshot([entry(ongoing=False, scan_error="x" * 5000)])
    assert len(huge.error) == ERROR_LIMIT
    assert huge.error.endswith("\u2026")


def test_long_titles_are_bounded() -> None:
    snap = snapshot([entry(scan_title="t" * 2000)])
    assert len(snap.image_scan.title) == TITLE_LIMIT


def test_start_times_are_normalised_to_utc() -> None:
    naive = datetime(2024, 5, 1, 12, 0)  # the console may omit the zone
    plus_two = datetime(2024, 5, 1, 13, 0, tzinfo=timezone(timedelta(hours=2)))
    snap = snapshot([entry(start=naive), entry(start=plus_two)])
    assert snap.started_at == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    assert snap.started_at is not None
    assert snap.started_at.tzinfo is UTC


# --- Step ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "scanned", "percent"),
    [(0, 0, 0), (3, 1, 33), (3, 2, 66), (10, 10, 100), (200, 199, 99), (5, 0, 0)],
)
def test_percent_is_rounded_down(total: int, scanned: int, percent: int) -> None:
    assert Step(total=total, scanned=scanned).percent == percent


def test_percent_stays_within_bounds_for_unclamped_views() -> None:
    assert Step(total=2, scanned=9).percent == 100
    assert Step(total=2, scanned=-1).percent == 0


def test_done_needs_a_known_total() -> None:
    assert Step(total=4, scanned=4).done
    assert not Step(total=4, scanned=3).done
    assert not Step(total=0, scanned=0).done


# --- change detection -------------------------------------------------------------------


def test_anything_is_a_change_from_nothing() -> None:
    assert snapshot([]).changed_from(None)


def test_title_only_changes_are_not_material() -> None:
    before = snapshot([entry((1, 1), (10, 3), scan_title="Scanned 3/10 with 1 Defender")])
    after = snapshot([entry((1, 1), (10, 3), scan_title="Scanned 3/10 with 2 Defenders")])
    assert after.material() == before.material()
    assert not after.changed_from(before)


@pytest.mark.parametrize(
    "after",
    [
        entry((1, 1), (10, 4)),  # one more image scanned
        entry((1, 1), (11, 3)),  # total grew
        entry((1, 1), (10, 3), scan_error="oops"),  # error appeared
        entry((1, 1), (10, 3), ongoing=False),  # finished
    ],
)
def test_counts_phase_and_error_changes_are_material(after: ProgressEntry) -> None:
    before = snapshot([entry((1, 1), (10, 3))])
    assert snapshot([after]).changed_from(before)


# --- JSON round trip --------------------------------------------------------------------


def test_round_trip_through_json() -> None:
    snap = snapshot([entry((4, 2), (2, 0), disc_title="Step 1/2", scan_error="slow", start=T0)])
    data = json.loads(json.dumps(snap.to_dict()))
    assert data["started_at"] == "2024-05-01T12:00:00+00:00"
    assert data["phase"] == "discovering"
    assert ProgressSnapshot.from_dict(data) == snap


def test_from_dict_tolerates_missing_keys() -> None:
    assert ProgressSnapshot.from_dict({}) == ProgressSnapshot(phase=Phase.IDLE)
    partial = ProgressSnapshot.from_dict({"phase": "scanning", "image_scan": {"total": 3}})
    assert partial.phase is Phase.SCANNING
    assert partial.image_scan == Step(total=3, scanned=0)
    assert partial.discovery == Step()


def test_from_dict_tolerates_wrong_types_and_unknown_phase() -> None:
    snap = ProgressSnapshot.from_dict(
        {
            "phase": "queued",
            "discovery": "nonsense",
            "image_scan": {"total": "7", "scanned": True, "title": 5},
            "error": None,
            "started_at": "not a date",
            "entries": -4,
        }
    )
    assert snap == ProgressSnapshot(phase=Phase.IDLE)


def test_from_dict_converts_other_zones_to_utc() -> None:
    snap = ProgressSnapshot.from_dict({"phase": "idle", "started_at": "2024-05-01T14:00:00+02:00"})
    assert snap.started_at == T0
    assert snap.started_at is not None
    assert snap.started_at.utcoffset() == timedelta(0)


_counts = st.integers(min_value=-5, max_value=10_000)
_entries = st.lists(
    st.builds(
        entry,
        st.tuples(_counts, _counts),
        st.tuples(_counts, _counts),
        ongoing=st.booleans(),
        scan_title=st.text(max_size=400),
        scan_error=st.text(max_size=700),
        start=st.none() | st.datetimes(timezones=st.just(UTC)),
    ),
    max_size=4,
)


@given(_entries)
def test_any_answer_gives_a_sane_snapshot_that_round_trips(entries: list[ProgressEntry]) -> None:
    snap = snapshot(entries)
    for step in (snap.discovery, snap.image_scan):
        assert 0 <= step.scanned <= step.total
        assert 0 <= step.percent <= 100
        assert len(step.title) <= TITLE_LIMIT
    assert len(snap.error) <= ERROR_LIMIT
    assert snap.summary
    assert (snap.phase is Phase.IDLE) == (not entries)
    assert ProgressSnapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap


# --- the meaning of an answer in context (one rule for watcher and terminal) -------------


def test_empty_after_running_completes_every_step_of_the_last_snapshot() -> None:
    last = snapshot([entry((4, 3), (10, 3), scan_title="Step 2/2", start=T0)])
    done = completed_after_empty(last)
    assert done.phase is Phase.COMPLETE
    assert (done.discovery.scanned, done.discovery.total) == (4, 4)
    assert (done.image_scan.scanned, done.image_scan.total) == (10, 10)
    assert done.image_scan.title == "Step 2/2"
    assert done.started_at == T0
    assert done.summary == "Scan complete: 10/10 images scanned"


def test_empty_after_running_with_an_error_seen_is_failed() -> None:
    last = snapshot([entry((1, 1), (10, 3), scan_error="pull failed")])
    done = completed_after_empty(last)
    assert done.phase is Phase.FAILED
    assert done.error == "pull failed"


def test_empty_after_running_without_a_last_snapshot_is_a_bare_completion() -> None:
    assert completed_after_empty(None) == ProgressSnapshot(phase=Phase.COMPLETE)


def test_interpret_empty_after_running_means_complete() -> None:
    last = snapshot([entry((1, 1), (4, 2))])
    assert interpret([], saw_running=True, last=last) == completed_after_empty(last)


def test_interpret_empty_before_anything_ran_means_idle() -> None:
    last = snapshot([entry((1, 1), (4, 2))])
    assert interpret([], saw_running=False, last=last).phase is Phase.IDLE


def test_interpret_a_non_empty_answer_means_what_it_says() -> None:
    answer = [entry((1, 1), (4, 3))]
    assert interpret(answer, saw_running=True, last=None) == snapshot(answer)


# --- counts as text (one wording for terminal and Slack) --------------------------------


@pytest.mark.parametrize(
    ("step", "noun", "text"),
    [
        (Step(total=10, scanned=3), "images", "3/10 images (30%)"),
        (Step(total=10, scanned=3), "", "3/10 (30%)"),
        (Step(), "images", "not started"),
        (Step(), "", "not started"),
    ],
)
def test_counts_text_says_not_started_instead_of_zero_of_zero(
    step: Step, noun: str, text: str
) -> None:
    assert step.counts_text(noun) == text
    assert step.started == (step.total > 0)


# --- absurd counts and huge answers (issue 11) ------------------------------------------


def test_counts_summed_past_the_cap_are_capped_and_flagged() -> None:
    huge = 2**63 - 1
    snap = snapshot([entry((1, 1), (huge, 3)), entry((1, 1), (huge, 4))])
    assert snap.image_scan.total == MAX_STEP_COUNT
    assert snap.image_scan.scanned == 7
    assert snap.suspicious
    assert snap.summary.endswith(f"({SUSPICIOUS_NOTE})")
    assert str(huge) not in snap.summary


def test_one_absurd_entry_is_flagged_even_if_the_sum_is_not() -> None:
    snap = snapshot([entry((MAX_STEP_COUNT + 1, 5), (0, 0))])
    assert snap.discovery.total == MAX_STEP_COUNT
    assert snap.suspicious


def test_sane_counts_are_not_flagged() -> None:
    snap = snapshot([entry((MAX_STEP_COUNT, 5), (10, 3))])
    assert not snap.suspicious
    assert SUSPICIOUS_NOTE not in snap.summary


def test_a_suspicious_change_is_material() -> None:
    plain = snapshot([entry((1, 1), (10, 3))])
    assert ProgressSnapshot(phase=plain.phase, suspicious=True).changed_from(
        ProgressSnapshot(phase=plain.phase)
    )


def _many_entries(count: int) -> list[ProgressEntry]:
    return [
        entry(
            (1, 1),
            (3, index % 4),
            scan_title=f"registry-{index % 50} scanning",
            scan_error=f"error {index}" if index % 1000 == 0 else "",
        )
        for index in range(count)
    ]


def test_twenty_thousand_entries_are_summarised() -> None:
    """Issue 11: 20,000 entries (quadratic before); the sums and bounded texts are right."""
    snap = snapshot(_many_entries(20_000))
    assert snap.entries == 20_000
    assert (snap.discovery.total, snap.discovery.scanned) == (20_000, 20_000)
    # index % 4 is 0, 1, 2, 3 -> scanned clamped to 0, 1, 2, 3 of 3 each: 5,000 * (0+1+2+3)
    assert (snap.image_scan.total, snap.image_scan.scanned) == (60_000, 30_000)
    assert snap.phase is Phase.SCANNING
    assert snap.image_scan.title.startswith("registry-0 scanning; registry-1 scanning")
    assert len(snap.image_scan.title) <= TITLE_LIMIT
    assert snap.error.startswith("error 0; error 1000")
    assert len(snap.error) <= ERROR_LIMIT
    assert not snap.suspicious


def test_many_distinct_texts_are_joined_once_each_in_order() -> None:
    entries = [entry((1, 1), (1, 0), scan_error=f"e{index % 7}") for index in range(700)]
    assert snapshot(entries).error == "; ".join(f"e{index}" for index in range(7))


@pytest.mark.benchmark
def test_benchmark_snapshot_of_twenty_thousand_entries() -> None:
    """Prints the time to summarise 20,000 entries (no assertion on time)."""
    import time

    entries = _many_entries(20_000)
    started = time.perf_counter()
    snap = snapshot(entries)
    elapsed = time.perf_counter() - started
    print(f"\nsnapshot of {snap.entries} entries: {elapsed * 1000:.1f} ms")


# --- stored rows stay readable ------------------------------------------------------------


def test_rows_stored_before_the_suspicious_flag_still_load() -> None:
    stored = {
        "phase": "scanning",
        "discovery": {"total": 1, "scanned": 1, "title": "", "error": ""},
        "image_scan": {"total": 10, "scanned": 3, "title": "Step 2/2", "error": ""},
        "error": "",
        "started_at": "2024-05-01T12:00:00+00:00",
        "entries": 1,
    }
    snap = ProgressSnapshot.from_dict(stored)
    assert not snap.suspicious
    assert snap.image_scan == Step(total=10, scanned=3, title="Step 2/2")
    assert snap.to_dict() == {**stored, "suspicious": False}


def test_suspicious_round_trips_and_tolerates_odd_values() -> None:
    snap = snapshot([entry((1, 1), (2**62, 1)), entry((1, 1), (2**62, 1))])
    assert ProgressSnapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap
    for odd in ("yes", 1, None, [True]):
        assert not ProgressSnapshot.from_dict({"phase": "idle", "suspicious": odd}).suspicious


def test_absurd_stored_counts_are_capped_on_load() -> None:
    step = Step.from_dict({"total": 10**30, "scanned": 10**30})
    assert (step.total, step.scanned) == (MAX_STEP_COUNT, MAX_STEP_COUNT)
