"""The console's HTTP/1.1 transport (:mod:`bot.console.http11`) against real servers on
loopback: connections kept and noticed closed, bodies, timeouts, broken answers and TLS,
each failure raised as the httpx error the client's retries and messages expect."""

from __future__ import annotations

import contextlib
import gzip
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.console.client import ConsoleClient
from bot.console.errors import ConsoleUnavailable
from bot.console.http11 import Http11Transport
from bot.domain.images import ScanTarget
from tests.console.conftest import console_settings

#: Answers the server gives a connection, one per request (a callable: the raw bytes).
Script = Callable[[bytes], bytes | None]


def ok(body: bytes = b"[]", *headers: str) -> bytes:
    head = [f"Content-Length: {len(body)}", "Content-Type: application/json", *headers]
    return ("HTTP/1.1 200 OK\r\n" + "".join(h + "\r\n" for h in head) + "\r\n").encode() + body


class RawServer:
    """A loopback server that reads each request's head and answers what ``answer`` returns
    (None: hang up without answering); ``close_after`` closes a connection after that many
    answers; ``wrap`` turns accepted sockets into TLS ones."""

    def __init__(
        self,
        answer: Script,
        *,
        close_after: int | None = None,
        wrap: Callable[[socket.socket], socket.socket] | None = None,
    ) -> None:
        self.answer = answer
        self.close_after = close_after
        self.wrap = wrap
        self.connections = 0
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _addr = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            if self.wrap is not None:
                sock = self.wrap(sock)
            answered = 0
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                self.requests.append(head)
                reply = self.answer(head)
                if reply is None:
                    sock.close()
                    return
                sock.sendall(reply)
                answered += 1
                if self.close_after is not None and answered >= self.close_after:
                    sock.close()  # the server drops the kept-alive connection
                    return

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._listener.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Script, **options: object) -> RawServer:
        server = RawServer(answer, **options)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(transport=Http11Transport(), timeout=httpx.Timeout(2.0)) as http:
        yield http


def test_requests_share_one_kept_connection(
    serve: Callable[..., RawServer], client: httpx.Client
) -> None:
    server = serve(lambda head: ok(b'{"n": 1}'))
    for _ in range(5):
        assert client.get(server.url() + "/api/v1/x?a=1&b=%20").json() == {"n": 1}
    assert server.connections == 1
    first = server.requests[0].decode()
    assert first.startswith("GET /api/v1/x?a=1&b=%20 HTTP/1.1\r\n")
    assert f"host: 127.0.0.1:{server.port}" in first.lower()


def test_a_connection_the_server_closed_while_idle_is_not_used_again(
    serve: Callable[..., RawServer], client: httpx.Client
) -> None:
    server = serve(lambda head: ok(), close_after=1)
    for _ in range(3):
        assert client.get(server.url() + "/").status_code == 200
        # let the server's close arrive before the next request looks at the connection
        threading.Event().wait(0.05)
    assert server.connections == 3


def test_a_body_not_read_to_its_end_closes_its_connection(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(lambda head: ok(b"x" * 200_000))
    transport = Http11Transport()
    with httpx.Client(transport=transport) as http:
        with http.stream("GET", server.url() + "/") as response:
            next(response.iter_raw())
        assert http.get(server.url() + "/").content == b"x" * 200_000
    assert server.connections == 2


def test_chunked_and_gzip_bodies_are_read_whole(
    serve: Callable[..., RawServer], client: httpx.Client
) -> None:
    packed = gzip.compress(b'[{"isScanOngoing": true}]')
    chunked = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (packed[:10], packed[10:])
    )
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        + chunked
        + b"0\r\n\r\n"
    )
    server = serve(lambda head: reply)
    assert client.get(server.url() + "/").json() == [{"isScanOngoing": True}]
    assert client.get(server.url() + "/").json() == [{"isScanOngoing": True}]
    assert server.connections == 1


def test_a_refused_connection_is_a_connect_error(client: httpx.Client) -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{port}/")


def test_a_server_that_does_not_answer_is_a_read_timeout(
    serve: Callable[..., RawServer],
) -> None:
    hang = threading.Event()
    server = serve(lambda head: ok() if hang.wait(5) else None)
    try:
        with (
            httpx.Client(transport=Http11Transport(), timeout=httpx.Timeout(0.3)) as http,
            pytest.raises(httpx.ReadTimeout),
        ):
            http.get(server.url() + "/")
    finally:
        hang.set()


@pytest.mark.parametrize(
    "reply",
    [None, b"SSH-2.0-OpenSSH_9.6\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"],
    ids=["hang-up", "not-http", "body-cut-short"],
)
def test_an_answer_that_is_not_whole_http_is_a_protocol_error(
    serve: Callable[..., RawServer], client: httpx.Client, reply: bytes | None
) -> None:
    """No answer at all, a line that is not HTTP, or a body shorter than declared (the
    server hangs up after it)."""
    server = serve(lambda head: reply, close_after=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(server.url() + "/")


def test_the_console_client_reports_a_refused_console_plainly() -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    settings = console_settings(prisma_console_url=f"http://127.0.0.1:{port}")
    with ConsoleClient(settings) as console, pytest.raises(ConsoleUnavailable) as caught:
        console.progress(ScanTarget(repo="library/alpine", tag="3.16"))
    assert "could not connect" in str(caught.value)


# --- TLS ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made for this test run (needs openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def tls_server(serve: Callable[..., RawServer], certificate: tuple[Path, Path]) -> RawServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return serve(
        lambda head: ok(b'[{"isScanOngoing": true}]'),
        wrap=lambda sock: context.wrap_socket(sock, server_side=True),
    )


def test_tls_with_the_console_certificate_in_the_ca_bundle(
    serve: Callable[..., RawServer], certificate: tuple[Path, Path]
) -> None:
    server = tls_server(serve, certificate)
    settings = console_settings(
        prisma_console_url=server.url("https"),
        prisma_ca_bundle=str(certificate[0]),
        prisma_auth="basic",
    )
    with ConsoleClient(settings) as console:
        for _ in range(3):
            assert console.progress(ScanTarget(repo="library/alpine", tag="3.16"))
    assert server.connections == 1


def test_tls_with_an_unknown_certificate_is_refused_and_named_plainly(
    serve: Callable[..., RawServer], certificate: tuple[Path, Path]
) -> None:
    server = tls_server(serve, certificate)
    settings = console_settings(prisma_console_url=server.url("https"))
    with ConsoleClient(settings) as console, pytest.raises(ConsoleUnavailable) as caught:
        console.progress(ScanTarget(repo="library/alpine", tag="3.16"))
    assert "TLS" in str(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.detail


def test_tls_unverified_when_told_so(
    serve: Callable[..., RawServer], certificate: tuple[Path, Path]
) -> None:
    server = tls_server(serve, certificate)
    settings = console_settings(
        prisma_console_url=server.url("https"), prisma_verify_tls=False, prisma_auth="basic"
    )
    with ConsoleClient(settings) as console:
        assert console.progress(ScanTarget(repo="library/alpine", tag="3.16"))
