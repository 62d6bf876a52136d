"""Pure readers of what the console sends: versions, err texts, Retry-After, matching."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.console.errors import UnexpectedResponse
from bot.console.wire import (
    api_version_of,
    error_detail,
    matches_target,
    retry_after_seconds,
    version_tuple,
)
from bot.domain.images import ScanTarget

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("34.04.145", "v34.04"),
        ("v32.07.123", "v32.07"),
        (" 30.03 ", "v30.03"),
        ("22.12.5", "v22.12"),
    ],
)
def test_api_version_of(version: str, expected: str) -> None:
    assert api_version_of(version) == expected


@pytest.mark.parametrize("version", ["", "34", "latest", "x34.04"])
def test_api_version_of_garbage(version: str) -> None:
    with pytest.raises(UnexpectedResponse):
        api_version_of(version)


@pytest.mark.parametrize(
    ("text", "payload", "expected"),
    [
        ('{"err":"repo is required"}', {"err": "repo is required"}, "repo is required"),
        ('"plain json string"', "plain json string", "plain json string"),
        ("bad\n  request", None, "bad request"),
        ('{"message": "x"}', {"message": "x"}, '{"message": "x"}'),
        ('{"err": 5}', {"err": 5}, '{"err": 5}'),
    ],
)
def test_error_detail(text: str, payload: object, expected: str) -> None:
    assert error_detail(text, payload) == expected


def test_error_detail_is_truncated_to_300_chars() -> None:
    detail = error_detail("", {"err": "e" * 1000})
    assert len(detail) == 300
    assert detail.endswith("…")


@pytest.mark.parametrize(
    ("version", "expected"),
    [("30.02.123", (30, 2)), ("v22.12", (22, 12)), ("latest", None), ("", None)],
)
def test_version_tuple_reads_major_and_minor(version: str, expected: object) -> None:
    assert version_tuple(version) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 1.5 ", 1.5),
        ("-3", None),
        ("nan", None),
        ("", None),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # already past
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC).timestamp()
    assert retry_after_seconds(value, now) == expected


def _item(**repo_tag: str) -> dict[str, object]:
    return {"repoTag": repo_tag, "repoDigests": [f"{repo_tag.get('repo')}@{DIGEST}"]}


@pytest.mark.parametrize(
    ("item", "target", "expected"),
    [
        (_item(repo="library/alpine", tag="3.16"), ScanTarget("library/alpine", "3.16"), True),
        (
            _item(registry="docker.io", repo="library/alpine", tag="3.16"),
            ScanTarget("library/alpine", "3.16"),
            True,
        ),
        (_item(repo="library/alpine", tag="3.17"), ScanTarget("library/alpine", "3.16"), False),
        (_item(repo="library/alpin", tag="3.16"), ScanTarget("library/alpine", "3.16"), False),
        (
            _item(registry="mirror.io", repo="library/alpine", tag="3.16"),
            ScanTarget("library/alpine", "3.16"),
            False,
        ),
        (
            _item(registry="https://Reg.io", repo="app", tag="1"),
            ScanTarget("app", "1", registry="reg.io"),
            True,
        ),
        (_item(repo="app", tag="1"), ScanTarget("app", digest=DIGEST), True),
        (_item(repo="app", tag="1"), ScanTarget("app", "1", digest="sha256:" + "0" * 64), False),
        (
            {"repoTag": None, "tags": [{"repo": "app", "tag": "x"}, {"repo": "app", "tag": "1"}]},
            ScanTarget("app", "1"),
            True,
        ),
        ({"repoTag": {"repo": "app", "tag": "1", "registry": 5}}, ScanTarget("app", "1"), True),
        ("junk", ScanTarget("app", "1"), False),
        ({"tags": "junk", "repoDigests": [1, None]}, ScanTarget("app", digest=DIGEST), False),
    ],
)
def test_matches_target(item: object, target: ScanTarget, expected: bool) -> None:
    assert matches_target(item, target) is expected
