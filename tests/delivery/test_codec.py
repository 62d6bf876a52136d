"""bot.store.codec: every event and parent view survives the outbox's JSON unchanged, and
stored JSON that describes no known event or view is a CodecError, never another exception.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.console_types import ScanResult, SeverityCounts
from bot.domain.events import (
    Completed,
    Estimate,
    Event,
    ImageFollow,
    ParentView,
    RegistryErrors,
    RegularScanFollow,
)
from bot.domain.follow_state import FollowState
from bot.domain.images import ScanTarget
from bot.domain.progress import Phase, ProgressSnapshot
from bot.domain.steps import MAX_STEP_COUNT, Step
from bot.domain.watch import WatchState
from bot.store import codec
from bot.store.codec import CodecError

# --- strategies -------------------------------------------------------------------------

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=7))]
)
AWARE = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=ZONES
)
#: Times of events may be naive or aware: both come back as they were.
TIMES = AWARE | st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1))
DURATIONS = st.timedeltas(min_value=timedelta(days=-1000), max_value=timedelta(days=1000))
TEXT = st.text(max_size=40)
COUNTS = st.integers(min_value=0, max_value=2**62)


@st.composite
def steps(draw: st.DrawFn) -> Step:
    total = draw(st.integers(min_value=0, max_value=MAX_STEP_COUNT))
    scanned = draw(st.integers(min_value=0, max_value=total))
    return Step(total=total, scanned=scanned, title=draw(TEXT), error=draw(TEXT))


SNAPSHOTS = st.builds(
    ProgressSnapshot,
    phase=st.sampled_from(Phase),
    discovery=steps(),
    image_scan=steps(),
    error=TEXT,
    started_at=st.none() | AWARE,
    entries=st.integers(min_value=0, max_value=10_000),
    suspicious=st.booleans(),
)


@st.composite
def targets(draw: st.DrawFn) -> ScanTarget:
    """Images as the constructor allows them: a repository, and a tag or a digest."""
    tag = draw(st.none() | TEXT)
    return ScanTarget(
        repo=draw(st.text(min_size=1, max_size=30)),
        tag=tag,
        digest=draw(TEXT) if tag is None else draw(st.none() | TEXT),
        registry=draw(st.none() | TEXT),
    )


SEVERITIES = st.builds(
    SeverityCounts, critical=COUNTS, high=COUNTS, medium=COUNTS, low=COUNTS, total=COUNTS
)
RESULTS = st.builds(
    ScanResult,
    image=TEXT,
    vulnerabilities=SEVERITIES,
    compliance=SEVERITIES,
    vulnerabilities_count=COUNTS,
    compliance_issues_count=COUNTS,
    scan_time=st.none() | AWARE,
    error=TEXT,
)
ESTIMATES = st.builds(
    Estimate,
    per_minute=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    remaining=DURATIONS,
)

#: Strategies for the leaf types; everything else is derived from the type hints, so a
#: field added to an event is generated without touching this file.
LEAVES: dict[object, st.SearchStrategy[Any]] = {
    str: TEXT,
    int: st.integers(min_value=-(2**53), max_value=2**53),
    float: st.floats(allow_nan=False, allow_infinity=False, width=64),
    bool: st.booleans(),
    datetime: TIMES,
    timedelta: DURATIONS,
    ProgressSnapshot: SNAPSHOTS,
    ScanTarget: targets(),
    ScanResult: RESULTS,
    Estimate: ESTIMATES,
    type(None): st.none(),
}


def strategy_for(annotation: Any) -> st.SearchStrategy[Any]:
    """A strategy for a field's annotation: leaves, enums, X | Y, tuple[X, ...], dataclasses."""
    if annotation in LEAVES:
        return LEAVES[annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(option) for option in typing.get_args(annotation)))
    if origin is tuple:
        item = strategy_for(typing.get_args(annotation)[0])
        return st.lists(item, max_size=4).map(tuple)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(annotation)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        hints = typing.get_type_hints(annotation)
        fields = {f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(annotation)}
        return st.builds(annotation, **fields)
    raise NotImplementedError(f"no strategy for {annotation!r}")


EVENT_TYPES: tuple[type[Any], ...] = typing.get_args(Event)
EVENTS = st.one_of(*(strategy_for(cls) for cls in EVENT_TYPES))


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_every_event_type_comes_back_equal_from_its_json(
    event_type: type[Any], data: st.DataObject
) -> None:
    event = data.draw(strategy_for(event_type))
    assert codec.load_event(codec.dumps(event)) == event


@given(strategy_for(ParentView))
def test_a_parent_view_comes_back_equal_from_its_json(view: ParentView) -> None:
    assert codec.load_view(codec.dumps(view)) == view


@given(strategy_for(FollowState))
def test_a_follow_state_comes_back_equal_from_its_json(follow: FollowState) -> None:
    assert codec.load_follow_state(codec.dumps(follow)) == follow


@given(strategy_for(ProgressSnapshot))
def test_a_snapshot_comes_back_equal_from_its_json(snap: ProgressSnapshot) -> None:
    assert codec.load_snapshot(codec.dump_snapshot(snap)) == snap


@pytest.mark.parametrize("text", ["{not json", "[]", "7", "null", "[" * 100_000])
def test_a_stored_snapshot_that_is_no_json_object_is_a_codec_error(text: str) -> None:
    with pytest.raises(codec.CodecError):
        codec.load_snapshot(text)


def test_nothing_stored_is_no_snapshot() -> None:
    assert codec.load_snapshot(None) is None
    assert codec.load_snapshot("") is None


def test_a_missing_follow_state_is_the_empty_one() -> None:
    assert codec.load_follow_state(None) == FollowState()


@given(EVENTS)
def test_the_json_is_tagged_with_the_events_type(event: Event) -> None:
    assert json.loads(codec.dumps(event))["type"] == type(event).__name__


# --- what is not an event or a view ------------------------------------------------------

T0 = datetime(2024, 5, 1, tzinfo=UTC)
SUBJECT = ImageFollow(1, ScanTarget(repo="library/alpine", tag="3.16"), "U0A", T0)
VIEW = ParentView(SUBJECT, WatchState.ACTIVE, ProgressSnapshot(Phase.SCANNING), T0)
COMPLETED = Completed(SUBJECT, ProgressSnapshot(Phase.COMPLETE), timedelta(minutes=3), None)


def changed(value: Event | ParentView, **fields: object) -> str:
    data = json.loads(codec.dumps(value))
    data.update(fields)
    return json.dumps(data)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "{",
        "null",
        "[]",
        "42",
        '"ParentView"',
        "{}",
        '{"type": 1}',
        '{"type": "Watch"}',
        '{"type": "__class__"}',
        '{"type": "ProgressSnapshot"}',
        '{"type": "ParentView"}',  # required fields missing
    ],
)
def test_json_that_is_no_known_view_is_a_codec_error(text: str) -> None:
    with pytest.raises(CodecError):
        codec.load_view(text)
    with pytest.raises(CodecError):
        codec.load_event(text)


def test_an_event_is_not_read_as_a_view_nor_a_view_as_an_event() -> None:
    with pytest.raises(CodecError, match="expected a parent view"):
        codec.load_view(codec.dumps(COMPLETED))
    with pytest.raises(CodecError, match="expected an event"):
        codec.load_event(codec.dumps(VIEW))
    with pytest.raises(CodecError, match="expected a follow state"):
        codec.load_follow_state(codec.dumps(VIEW))


def test_a_known_type_in_the_wrong_place_is_a_codec_error() -> None:
    with pytest.raises(CodecError):
        codec.load_event(changed(COMPLETED, snap="not an object"))
    with pytest.raises(CodecError):
        codec.load_event(changed(COMPLETED, subject=[1, 2]))
    with pytest.raises(CodecError):
        codec.load_event(changed(COMPLETED, duration="3 minutes"))
    with pytest.raises(CodecError):
        codec.load_view(changed(VIEW, now=1714521600))


def test_a_stored_image_that_breaks_the_image_rules_is_a_codec_error() -> None:
    bad_subject = json.loads(codec.dumps(COMPLETED))["subject"]
    bad_subject["target"] = {"type": "ScanTarget", "repo": ""}
    with pytest.raises(CodecError, match="ScanTarget"):
        codec.load_event(changed(COMPLETED, subject=bad_subject))


def test_an_unknown_watch_state_is_a_codec_error() -> None:
    with pytest.raises(CodecError):
        codec.load_view(changed(VIEW, state="bogus"))


def test_a_time_that_is_not_iso_8601_is_a_codec_error() -> None:
    with pytest.raises(CodecError):
        codec.load_view(changed(VIEW, now="yesterday"))


@pytest.mark.parametrize("seconds", ["1e20", "NaN", "Infinity"])
def test_a_duration_out_of_range_is_a_codec_error(seconds: str) -> None:
    text = changed(COMPLETED, duration=0).replace('"duration": 0', f'"duration": {seconds}')
    with pytest.raises(CodecError):
        codec.load_event(text)


def test_deeply_nested_json_is_a_codec_error() -> None:
    with pytest.raises(CodecError):
        codec.load_event("[" * 100_000 + "]" * 100_000)


def test_a_tagged_value_of_the_wrong_type_for_its_field_is_a_codec_error() -> None:
    regular = RegularScanFollow(run_id=1, channel_id="C0", scan_key="k", since=T0)
    regular_json = json.loads(codec.dumps(RegistryErrors(regular, ())))["subject"]
    with pytest.raises(CodecError):
        codec.load_event(changed(COMPLETED, subject=regular_json))


def test_a_scalar_of_the_wrong_type_is_a_codec_error() -> None:
    follow = RegularScanFollow(run_id=1, channel_id="C0", scan_key="k", since=T0)
    text = changed(RegistryErrors(follow, ("x",)), errors=[1, {"a": 1}])
    with pytest.raises(CodecError):
        codec.load_event(text)


@given(st.text(max_size=200))
def test_any_text_is_an_event_or_a_codec_error(text: str) -> None:
    with contextlib.suppress(CodecError):
        codec.load_event(text)
