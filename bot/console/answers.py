"""Reading console answers off the wire: bounded bodies, JSON or not, HTML, transport errors.

The client sends every request with ``stream=True`` and hands the response to
:func:`read_answer`, which reads at most a fixed number of bytes (decompressed) and then
stops; an answer over the cap is abandoned, never read whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from bot.console.errors import AnswerTooLarge, NotTheComputeApi, UnexpectedResponse

#: The largest successful console answer read, in decoded bytes.  A progress answer is a
#: few hundred bytes per registry; a compact ``GET /registry`` page of 20 images a few
#: kilobytes.  Anything near 8 MiB is not an answer scanbot can use.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
#: Of an error answer (non-2xx) only this much is read; its text is cut to 300 chars.
MAX_ERROR_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """The status, headers and (bounded) body of one console response."""

    status: int
    headers: httpx.Headers
    body: bytes
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        """The body as text (UTF-8 unless the answer says otherwise; bad bytes replaced)."""
        charset = _charset(self.headers.get("Content-Type", "")) or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:  # an unknown charset name
            return self.body.decode("utf-8", errors="replace")

    def is_html(self) -> bool:
        """An HTML page: ``Content-Type: text/html`` or a body that starts with ``<``."""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return content_type in {"text/html", "application/xhtml+xml"} or (
            self.body.lstrip()[:1] == b"<"
        )

    def json_or_none(self) -> object:
        """The body as JSON, or None when it is not JSON (for error texts)."""
        try:
            payload: object = json.loads(self.body)
        except (ValueError, RecursionError):  # bad JSON, bad encoding, absurd nesting
            return None
        return payload


def read_answer(response: httpx.Response, endpoint: str) -> Answer:
    """Read ``response`` (opened with ``stream=True``) up to the cap, then close it.

    A success answer over :data:`MAX_ANSWER_BYTES` (declared in ``Content-Length`` or
    found while reading) raises :class:`AnswerTooLarge` without reading the rest; an
    error answer is cut at :data:`MAX_ERROR_BYTES`.
    """
    success = 200 <= response.status_code < 300
    limit = MAX_ANSWER_BYTES if success else MAX_ERROR_BYTES
    try:
        if success and _declared_length(response) > limit:
            raise _too_large(endpoint, limit)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                if success:
                    raise _too_large(endpoint, limit)
                chunks.append(chunk[: limit - (size - len(chunk))])
                break
            chunks.append(chunk)
    finally:
        response.close()
        # httpx binds the response and its stream to each other, a reference cycle that
        # only the cyclic collector frees (57 objects a request); break it once closed.
        response.stream = httpx.ByteStream(b"")
    return Answer(response.status_code, response.headers, b"".join(chunks), _elapsed_ms(response))


def decode_json(answer: Answer, endpoint: str) -> object:
    """The JSON body of a success answer; :class:`NotTheComputeApi` for an HTML page."""
    if answer.is_html():
        raise not_the_api(endpoint)
    try:
        payload: object = json.loads(answer.body)
    except (ValueError, RecursionError):  # bad JSON, bad encoding, absurd nesting
        raise UnexpectedResponse(f"the console's answer to {endpoint} is not JSON") from None
    return payload


def not_the_api(endpoint: str) -> NotTheComputeApi:
    return NotTheComputeApi(
        f"PRISMA_CONSOLE_URL looks like a web page, not the Compute API: it answered "
        f"{endpoint} with HTML"
    )


def transport_failure(exc: httpx.TransportError) -> str:
    """A user-facing phrase for a transport error, without host, port or TLS internals."""
    text = str(exc).lower()
    if any(word in text for word in ("ssl", "certificate", "tls")):
        return (
            "the secure (TLS) connection failed; check the console's certificate, "
            "PRISMA_CA_BUNDLE and PRISMA_VERIFY_TLS"
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, httpx.TimeoutException):
        return "the console did not answer in time"
    if isinstance(exc, httpx.ProxyError):
        return "the proxy refused the connection"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect (host unknown or connection refused)"
    return "the connection broke off"


def _too_large(endpoint: str, limit: int) -> AnswerTooLarge:
    return AnswerTooLarge(
        f"the console's answer to {endpoint} was too large (over {limit // (1024 * 1024)} MiB); "
        "it was not read",
        limit,
    )


def _elapsed_ms(response: httpx.Response) -> float:
    """``response.elapsed`` in ms; 0 for a response built in memory (e.g. by MockTransport),
    which httpx marks closed before it can time it."""
    try:
        return response.elapsed.total_seconds() * 1000
    except RuntimeError:
        return 0.0


def _declared_length(response: httpx.Response) -> int:
    try:
        return int(response.headers.get("Content-Length", "0"))
    except ValueError:
        return 0


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None
