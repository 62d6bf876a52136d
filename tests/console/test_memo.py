"""The client parses an image's progress answer only when its bytes changed
(:class:`bot.console.memo.ProgressMemo`), over ``httpx.MockTransport``."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bot.console.client import ConsoleClient
from bot.console.errors import UnexpectedResponse
from bot.console.memo import ProgressMemo
from bot.domain.console_types import ProgressEntry
from bot.domain.images import ScanTarget
from tests.console.conftest import FakeConsole

MakeClient = Callable[..., ConsoleClient]
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
NGINX = ScanTarget(repo="library/nginx", tag="1.25")
RUNNING = [{"isScanOngoing": True, "discovery": {"total": 4, "scanned": 2}}]


def test_the_same_answer_again_gives_the_same_entries_without_parsing(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    client = make_client()
    fake.progress_body = RUNNING
    first = client.progress(ALPINE)
    again = client.progress(ALPINE)
    assert again == first
    assert all(a is b for a, b in zip(again, first, strict=True))  # kept, not parsed anew
    assert again is not first  # a list of its own: a caller may change it

    fake.progress_body = [{"isScanOngoing": True, "discovery": {"total": 4, "scanned": 3}}]
    moved = client.progress(ALPINE)
    assert moved[0].discovery.scanned == 3


def test_images_are_kept_apart(fake: FakeConsole, make_client: MakeClient) -> None:
    """Two images answering the same bytes are two images: each keeps its own answer."""
    client = make_client()
    fake.progress_body = RUNNING
    client.progress(ALPINE)
    fake.progress_body = []
    assert client.progress(NGINX) == []
    fake.progress_body = RUNNING
    assert client.progress(ALPINE)[0].is_scan_ongoing


def test_a_bad_answer_is_an_error_each_time_and_is_not_kept(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    client = make_client()
    bad = httpx.Response(200, content=b"{not json", headers={"Content-Type": "application/json"})
    fake.script("registry/progress", bad, bad)
    for _ in range(2):
        with pytest.raises(UnexpectedResponse):
            client.progress(ALPINE)


def test_the_memo_is_bounded() -> None:
    memo = ProgressMemo(size=2)
    parsed: list[str] = []

    def parse(key: str) -> Callable[[], list[ProgressEntry]]:
        def run() -> list[ProgressEntry]:
            parsed.append(key)
            return [ProgressEntry(is_scan_ongoing=True)]

        return run

    for key in ("a", "b", "c", "a"):
        memo.parse(key, b"[]", parse(key))
    assert parsed == ["a", "b", "c", "a"]  # full at "c": started over, "a" parsed again
    memo.parse("c", b"[]", parse("c"))
    assert parsed[-1] == "a"  # "c" still kept
