"""Defensive parsing of the console's progress and scan-result JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.console.errors import UnexpectedResponse
from bot.console.models import parse_progress, parse_scan_results
from bot.domain.console_types import ProgressEntry, ScanResult, SeverityCounts
from bot.domain.steps import MAX_ENTRY_COUNT, Step

# The on-demand example of the registry progress API page, verbatim.
DOC_ON_DEMAND = json.loads(
    """
[
  {
    "discovery": {"hostname": "", "id": "", "scanTime": "0001-01-01T00:00:00Z", "type": "",
      "discovery": false, "total": 1, "scanned": 1,
      "title": "Step 1/2 discovering tags in repository: library/alpine, tag: 3.16"},
    "imageScan": {"hostname": "", "id": "", "scanTime": "0001-01-01T00:00:00Z", "type": "",
      "discovery": false, "total": 1, "scanned": 1,
      "title": "Step 2/2 scanning images in repository: library/alpine, tag: 3.16"},
    "isScanOngoing": false
  }
]
"""
)


def test_documented_on_demand_example_parses() -> None:
    (entry,) = parse_progress(DOC_ON_DEMAND)
    assert entry.is_scan_ongoing is False
    assert entry.discovery == Step(
        total=1,
        scanned=1,
        title="Step 1/2 discovering tags in repository: library/alpine, tag: 3.16",
    )
    assert entry.image_scan.title.startswith("Step 2/2")
    assert entry.spec_scan_start_time is None


@pytest.mark.parametrize("payload", [None, []])
def test_null_and_empty_list_mean_no_progress(payload: object) -> None:
    assert parse_progress(payload) == []
    assert parse_scan_results(payload) == []


@pytest.mark.parametrize("payload", [{}, {"err": "x"}, "text", 3, 2.5, True])
def test_non_list_top_level_is_unexpected(payload: object) -> None:
    with pytest.raises(UnexpectedResponse):
        parse_progress(payload)
    with pytest.raises(UnexpectedResponse):
        parse_scan_results(payload)


def test_several_entries_unknown_fields_and_non_objects() -> None:
    payload = [
        {"isScanOngoing": True, "imageScan": {"total": 10, "scanned": 3, "onDemand": True}},
        "junk",
        None,
        {"isScanOngoing": False, "somethingNew": {"nested": [1, 2]}, "discovery": "oops"},
    ]
    first, second = parse_progress(payload)
    assert first.is_scan_ongoing
    assert first.image_scan.total == 10
    assert second == ProgressEntry()


def progress_entry(**fields: Any) -> ProgressEntry:
    """The one entry parsed from ``[{"isScanOngoing": true, **fields}]``."""
    (entry,) = parse_progress([{"isScanOngoing": True, **fields}])
    return entry


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), ("3", 3), (" 12 ", 12), ("+4", 4), (2.0, 2), (2.9, 2), (0, 0), (10**7, 10**7)],
)
def test_believable_counts_are_read_and_not_flagged(value: object, expected: int) -> None:
    entry = progress_entry(imageScan={"total": value, "scanned": value})
    assert (entry.image_scan.total, entry.image_scan.scanned) == (expected, expected)
    assert not entry.suspicious


def test_missing_or_null_counts_are_zero_and_not_flagged() -> None:
    entry = progress_entry(discovery={"total": None}, imageScan={})
    assert entry.discovery.total == entry.image_scan.scanned == 0
    assert entry.clamped == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-1, 0),
        ("-5", 0),
        (10**7 + 1, 10**7),
        (9223372036854775807, 10**7),
        (10**40, 10**7),
        (True, 0),
        (float("inf"), 0),
        (float("nan"), 0),
        ("3.5", 0),
        ("three", 0),
        ("", 0),
        ([3], 0),
        ({"n": 3}, 0),
        ("\u0663", 0),  # a non-ASCII digit is not a count
    ],
)
def test_absurd_counts_are_clamped_and_named(value: object, expected: int) -> None:
    entry = progress_entry(imageScan={"total": value, "scanned": 1})
    assert entry.image_scan.total == expected
    assert entry.clamped == ("imageScan.total",)
    assert entry.suspicious


def test_counts_summed_over_entries_stay_small() -> None:
    huge = {"total": 2**63 - 1, "scanned": 2**63 - 1}
    entries = parse_progress([{"isScanOngoing": True, "imageScan": huge}] * 3)
    assert sum(entry.image_scan.total for entry in entries) == 3 * MAX_ENTRY_COUNT
    assert all(entry.clamped == ("imageScan.total", "imageScan.scanned") for entry in entries)


def test_huge_json_numbers_are_clamped_to_zero() -> None:
    payload = json.loads(
        '[{"isScanOngoing": true, "discovery": {"total": 1e309, "scanned": -0.5}}]'
    )
    (entry,) = parse_progress(payload)
    assert (entry.discovery.total, entry.discovery.scanned) == (0, 0)
    assert entry.clamped == ("discovery.total",)  # -0.5 cuts to 0: believable


@pytest.mark.parametrize("value", [True, False])
def test_is_scan_ongoing_believes_json_booleans(value: bool) -> None:
    (entry,) = parse_progress([{"isScanOngoing": value}])
    assert entry.is_scan_ongoing is value


@pytest.mark.parametrize("value", [None, 1, 0, "true", "false", "", [], {}])
def test_an_odd_is_scan_ongoing_makes_the_whole_answer_unexpected(value: object) -> None:
    payload = [{"isScanOngoing": False}, {"isScanOngoing": value}]
    with pytest.raises(UnexpectedResponse, match="isScanOngoing"):
        parse_progress(payload)


def test_a_missing_is_scan_ongoing_makes_the_whole_answer_unexpected() -> None:
    with pytest.raises(UnexpectedResponse, match="missing"):
        parse_progress([{"imageScan": {"total": 4, "scanned": 2}}])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0001-01-01T00:00:00Z", None),  # Go's zero time: "unset"
        ("0001-01-01T00:00:00.000000000Z", None),
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00.123456789Z", datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=UTC)),
        ("2024-05-01T14:30:00+02:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("9999-12-31T23:30:00-01:00", None),  # beyond datetime's range in UTC
        ("yesterday", None),
        ("", None),
        (1714566600, None),
        (None, None),
    ],
)
def test_times(value: object, expected: datetime | None) -> None:
    entry = progress_entry(specScanStartTime=value)
    assert entry.spec_scan_start_time == expected
    if expected is not None:
        assert entry.spec_scan_start_time is not None
        assert entry.spec_scan_start_time.tzinfo is not None


def test_text_fields_of_wrong_type_are_empty() -> None:
    entry = progress_entry(discovery={"title": 5, "error": ["x"], "hostname": None})
    assert entry.discovery == Step()


def _scan_result(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_id": "sha256:abc",
        "repoTag": {"registry": "", "repo": "library/alpine", "tag": "3.16"},
        "scanTime": "2024-05-02T08:00:00Z",
        "vulnerabilityDistribution": {"critical": 1, "high": 2, "medium": 3, "low": 4, "total": 10},
        "complianceDistribution": {"high": 1, "total": 1},
        "vulnerabilitiesCount": 10,
        "complianceIssuesCount": 1,
        "err": "",
        "vulnerabilities": [{"cve": "CVE-2024-0001"}],
    }
    base.update(fields)
    return base


def test_scan_result_summary() -> None:
    (result,) = parse_scan_results([_scan_result()])
    assert result == ScanResult(
        image="library/alpine:3.16",
        vulnerabilities=SeverityCounts(critical=1, high=2, medium=3, low=4, total=10),
        compliance=SeverityCounts(high=1, total=1),
        vulnerabilities_count=10,
        compliance_issues_count=1,
        scan_time=datetime(2024, 5, 2, 8, tzinfo=UTC),
        error="",
    )


def test_scan_result_image_name_includes_registry_or_falls_back() -> None:
    with_registry = _scan_result(repoTag={"registry": "reg.io", "repo": "team/app", "tag": "1"})
    from_tags = _scan_result(repoTag=None, tags=[{"repo": "team/app", "tag": "2"}])
    unnamed = _scan_result(repoTag={}, tags="junk")
    names = [r.image for r in parse_scan_results([with_registry, from_tags, unnamed])]
    assert names == ["reg.io/team/app:1", "team/app:2", "sha256:abc"]


def test_scan_result_counts_default_to_distribution_totals() -> None:
    item = _scan_result()
    del item["vulnerabilitiesCount"], item["complianceIssuesCount"]
    (result,) = parse_scan_results([item])
    assert (result.vulnerabilities_count, result.compliance_issues_count) == (10, 1)


def test_scan_result_error_and_garbage_fields() -> None:
    item = _scan_result(
        err="failed to pull image",
        vulnerabilityDistribution="none",
        vulnerabilitiesCount="7",
        scanTime="0001-01-01T00:00:00Z",
    )
    (result,) = parse_scan_results([item, 42])
    assert result.error == "failed to pull image"
    assert result.vulnerabilities == SeverityCounts()
    assert result.vulnerabilities_count == 7
    assert result.scan_time is None


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["0001-01-01T00:00:00Z", "2024-05-01T12:00:00.999999999Z", "-3", "1e3"]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "discovery",
                    "imageScan",
                    "isScanOngoing",
                    "specScanStartTime",
                    "total",
                    "scanned",
                    "title",
                    "error",
                    "onDemand",
                    "hostname",
                    "repoTag",
                    "tags",
                    "repo",
                    "tag",
                    "registry",
                    "scanTime",
                    "vulnerabilityDistribution",
                    "vulnerabilitiesCount",
                    "vulnerabilityRiskScore",
                    "err",
                    "_id",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_arbitrary_json_raises_nothing_but_unexpected_response(payload: object) -> None:
    for parse in (parse_progress, parse_scan_results):
        try:
            parsed = parse(payload)
        except UnexpectedResponse:
            assert payload is not None
            assert parse is parse_progress or not isinstance(payload, list)
        else:
            assert isinstance(parsed, list)


@settings(max_examples=200, deadline=None)
@given(st.lists(JSON, max_size=5))
def test_any_list_parses_to_entries_with_sane_counts(payload: list[object]) -> None:
    odd = any(
        isinstance(item, dict) and not isinstance(item.get("isScanOngoing"), bool)
        for item in payload
    )
    if odd:
        with pytest.raises(UnexpectedResponse, match="isScanOngoing"):
            parse_progress(payload)
    for entry in [] if odd else parse_progress(payload):
        for step in (entry.discovery, entry.image_scan):
            assert 0 <= step.total <= MAX_ENTRY_COUNT
            assert 0 <= step.scanned <= MAX_ENTRY_COUNT
            assert isinstance(step.title, str)
    for result in parse_scan_results(payload):
        assert result.vulnerabilities_count >= 0
        assert isinstance(result.image, str)
