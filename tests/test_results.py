"""bot.domain.results: is a result this scan's, its diff from the baseline, its console link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bot.domain.console_types import ScanResult, SeverityCounts
from bot.domain.images import ScanTarget
from bot.domain.results import console_link, is_fresh, severity_diff

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def result(at: datetime | None, **counts: int) -> ScanResult:
    return ScanResult(image="alpine:3.16", vulnerabilities=SeverityCounts(**counts), scan_time=at)


# --- is_fresh ---------------------------------------------------------------------------


def test_a_result_newer_than_the_baseline_and_the_scan_start_is_fresh() -> None:
    fresh = result(T0 + timedelta(minutes=5))
    assert is_fresh(fresh, baseline=result(T0 - timedelta(days=1)), started_at=T0)


def test_a_result_without_baseline_or_scan_start_is_fresh_when_dated() -> None:
    assert is_fresh(result(T0), baseline=None, started_at=None)


def test_the_baseline_itself_is_not_fresh() -> None:
    """Equal scan times mean the console still shows the result from before following."""
    assert not is_fresh(result(T0), baseline=result(T0), started_at=None)


def test_a_result_older_than_the_baseline_is_not_fresh() -> None:
    assert not is_fresh(result(T0 - timedelta(hours=1)), baseline=result(T0), started_at=None)


def test_a_result_older_than_the_scan_start_is_not_fresh_even_without_baseline() -> None:
    assert not is_fresh(result(T0 - timedelta(seconds=1)), baseline=None, started_at=T0)


def test_a_result_dated_exactly_at_the_scan_start_is_fresh() -> None:
    """The scan start is inclusive: a result stamped at the very start belongs to the scan."""
    assert is_fresh(result(T0), baseline=None, started_at=T0)


def test_newer_than_the_baseline_but_older_than_the_scan_start_is_not_fresh() -> None:
    baseline = result(T0 - timedelta(hours=2))
    older_scan = result(T0 - timedelta(hours=1))
    assert not is_fresh(older_scan, baseline=baseline, started_at=T0)


def test_a_baseline_without_scan_time_only_the_scan_start_counts() -> None:
    assert is_fresh(result(T0), baseline=result(None), started_at=T0 - timedelta(minutes=1))
    assert not is_fresh(result(T0), baseline=result(None), started_at=T0 + timedelta(minutes=1))


def test_a_result_without_scan_time_is_fresh_only_without_baseline() -> None:
    """An undated result cannot be told apart from the baseline: it is trusted only when
    there was no result before following."""
    assert is_fresh(result(None), baseline=None, started_at=T0)
    assert not is_fresh(result(None), baseline=result(T0 - timedelta(days=1)), started_at=T0)
    assert not is_fresh(result(None), baseline=result(None), started_at=None)


def test_times_in_other_time_zones_compare_as_instants() -> None:
    """13:00+02:00 is 11:00 UTC: older than a scan started at 12:00 UTC."""
    plus_two = timezone(timedelta(hours=2))
    assert not is_fresh(
        result(datetime(2024, 5, 1, 13, 0, tzinfo=plus_two)), baseline=None, started_at=T0
    )
    assert is_fresh(
        result(datetime(2024, 5, 1, 15, 0, tzinfo=plus_two)), baseline=None, started_at=T0
    )


def test_a_naive_scan_time_is_read_as_utc_against_an_aware_scan_start() -> None:
    naive_later = (T0 + timedelta(minutes=1)).replace(tzinfo=None)
    assert is_fresh(result(naive_later), baseline=result(T0 - timedelta(days=1)), started_at=T0)


# --- severity_diff ----------------------------------------------------------------------


def test_the_diff_names_new_vulnerabilities_per_severity_and_the_fixed_ones() -> None:
    before = result(T0, critical=1, high=2, medium=10, low=3)
    after = result(T0, critical=3, high=3, medium=5, low=3)
    assert severity_diff(before, after) == "2 new critical, 1 new high, 5 fixed"


def test_the_diff_without_change_says_so() -> None:
    same = result(T0, critical=1, high=1)
    assert severity_diff(same, same) == "no change in vulnerabilities"


def test_the_diff_of_only_decreases_sums_the_fixed_ones() -> None:
    """Negative deltas of every severity add up to one "fixed" count, never "-N new"."""
    before = result(T0, critical=2, high=3, medium=4, low=5)
    after = result(T0)
    assert severity_diff(before, after) == "14 fixed"


def test_the_diff_of_only_increases_has_no_fixed_part() -> None:
    assert severity_diff(result(T0), result(T0, low=7)) == "7 new low"


def test_the_diff_lists_severities_from_critical_to_low() -> None:
    text = severity_diff(result(T0), result(T0, critical=1, high=1, medium=1, low=1))
    assert text == "1 new critical, 1 new high, 1 new medium, 1 new low"


def test_the_diff_ignores_the_total_field() -> None:
    """Only the four severities count; a changed total alone is no change."""
    assert severity_diff(result(T0, total=3), result(T0, total=9)) == (
        "no change in vulnerabilities"
    )


# --- console_link -----------------------------------------------------------------------


def test_the_console_link_filters_the_registry_images_page_to_the_image() -> None:
    link = console_link(
        "https://console.example:8083/", ScanTarget(repo="library/alpine", tag="3.16")
    )
    assert link.startswith(
        "https://console.example:8083/#!/monitor/vulnerabilities/images/registries?search="
    )
    assert "//#" not in link


def test_the_console_link_is_empty_without_a_console_url() -> None:
    target = ScanTarget(repo="library/alpine", tag="3.16")
    assert console_link(None, target) == ""
    assert console_link("", target) == ""


def test_the_console_link_encodes_every_special_character_of_the_image() -> None:
    """Slashes, colons, @ and anything hostile in the reference cannot break the URL."""
    target = ScanTarget(
        repo="team/app&x=1#frag", tag="1.0", digest="sha256:abc", registry="r.example:5000"
    )
    link = console_link("https://c.example", target)
    search = link.split("?search=", 1)[1]
    for character in "/:@&#= ":
        assert character not in search
    assert all(code in search for code in ("%2F", "%3A", "%40"))
