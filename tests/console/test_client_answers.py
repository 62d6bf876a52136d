"""What the client makes of answers that are not the Compute API's: too large, HTML, too old."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from bot.console.answers import MAX_ANSWER_BYTES, MAX_ERROR_BYTES
from bot.console.client import ConsoleClient
from bot.console.errors import (
    AnswerTooLarge,
    ApiVersionNotFound,
    ConsoleTooOld,
    NotTheComputeApi,
    RequestRejected,
    UnexpectedResponse,
)
from tests.console.conftest import FakeConsole, console_settings

MakeClient = Callable[..., ConsoleClient]
CHUNK = 64 * 1024
HTML = "<!DOCTYPE html><html><head><title>Prisma Cloud</title></head><body></body></html>"


class EndlessBody(httpx.SyncByteStream):
    """A body of ``chunks`` chunks that counts how many bytes it has handed out."""

    def __init__(self, chunks: int, prefix: bytes = b"[") -> None:
        self.chunks = chunks
        self.prefix = prefix
        self.yielded = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for index in range(self.chunks):
            chunk = self.prefix if index == 0 else b" " * CHUNK
            self.yielded += len(chunk)
            yield chunk

    def close(self) -> None:
        self.closed = True


def test_a_huge_progress_answer_is_abandoned_at_the_cap(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    body = EndlessBody(chunks=100_000)  # about 6 GiB if read whole
    fake.script("registry/progress", httpx.Response(200, stream=body))
    with pytest.raises(AnswerTooLarge, match="too large") as caught:
        make_client().progress()
    assert isinstance(caught.value, UnexpectedResponse)
    assert MAX_ANSWER_BYTES < body.yielded <= MAX_ANSWER_BYTES + CHUNK
    assert body.closed


def test_a_declared_length_over_the_cap_is_refused_before_reading(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    body = EndlessBody(chunks=10)
    headers = {"Content-Length": str(MAX_ANSWER_BYTES + 1)}
    fake.script("registry/progress", httpx.Response(200, headers=headers, stream=body))
    with pytest.raises(AnswerTooLarge):
        make_client().progress()
    assert body.yielded == 0


def test_an_answer_just_under_the_cap_is_read(fake: FakeConsole, make_client: MakeClient) -> None:
    padding = b" " * (MAX_ANSWER_BYTES - 2)
    fake.script("registry/progress", httpx.Response(200, content=b"[" + padding + b"]"))
    assert make_client().progress() == []


def test_a_huge_error_answer_is_cut_not_read_whole(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    body = EndlessBody(chunks=100_000, prefix=b"no such repository ")
    fake.script("registry/progress", httpx.Response(400, stream=body))
    with pytest.raises(RequestRejected, match="no such repository"):
        make_client().progress()
    assert body.yielded <= MAX_ERROR_BYTES + CHUNK


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text=HTML, headers={"Content-Type": "text/html; charset=utf-8"}),
        httpx.Response(200, text="\n  " + HTML, headers={"Content-Type": "application/json"}),
        httpx.Response(200, text=HTML),
    ],
    ids=["content-type", "body-starts-with-angle", "no-content-type"],
)
def test_an_html_page_says_the_url_is_a_web_page_not_the_api(
    fake: FakeConsole, make_client: MakeClient, response: httpx.Response
) -> None:
    fake.script("registry/progress", response)
    with pytest.raises(NotTheComputeApi) as caught:
        make_client().progress()
    assert "PRISMA_CONSOLE_URL looks like a web page, not the Compute API" in str(caught.value)
    assert "Path to Console" in caught.value.hint
    assert "Compute > Manage > System > Utilities" in caught.value.hint


def test_an_html_answer_to_authenticate_and_ping_is_named_too(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.script("_ping", httpx.Response(200, text=HTML))
    with pytest.raises(NotTheComputeApi):
        make_client().ping()
    fake.script("authenticate", httpx.Response(200, text=HTML))
    with pytest.raises(NotTheComputeApi):
        make_client().progress()


def test_an_html_404_is_a_web_page_not_an_api_version(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.script("registry/progress", httpx.Response(404, text=HTML))
    with pytest.raises(NotTheComputeApi):
        make_client().progress()


def test_progress_404_on_a_console_older_than_30_02_names_the_versions(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.version = "22.12.585"
    fake.script("registry/progress", httpx.Response(404, text="404 page not found"))
    client = make_client(console_settings(prisma_api_version=None))
    with pytest.raises(ConsoleTooOld) as caught:
        client.progress()
    assert "22.12.585" in str(caught.value)
    assert "30.02 or newer" in str(caught.value)
    assert (caught.value.console_version, caught.value.needed) == ("22.12.585", "30.02")
    assert "PRISMA_API_VERSION" not in caught.value.hint


def test_progress_404_asks_the_version_when_the_api_version_is_pinned(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.version = "30.01.153"
    fake.script("registry/progress", httpx.Response(404, text="404 page not found"))
    with pytest.raises(ConsoleTooOld, match=r"30\.01\.153"):
        make_client().progress()
    assert [r.url.path for r in fake.calls("version")] == ["/api/v1/version"]


def test_progress_404_on_a_recent_console_is_an_api_version_problem(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.script("registry/progress", httpx.Response(404, text="404 page not found"))
    with pytest.raises(ApiVersionNotFound) as caught:
        make_client().progress()
    assert "PRISMA_API_VERSION" in caught.value.hint  # it was pinned


def test_a_detected_api_version_404_does_not_blame_an_unset_variable(
    fake: FakeConsole, make_client: MakeClient
) -> None:
    fake.script("statuses/registry", httpx.Response(404, text="404 page not found"))
    client = make_client(console_settings(prisma_api_version=None))
    with pytest.raises(ApiVersionNotFound) as caught:
        client.registry_status()
    assert "PRISMA_CONSOLE_URL" in caught.value.hint
    assert "PRISMA_API_VERSION" not in caught.value.hint
