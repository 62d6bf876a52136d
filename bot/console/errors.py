"""The errors the console client raises.  Nothing else escapes :mod:`bot.console`.

::

    ConsoleError                    base class
    ├── ConsoleUnavailable          connect error, timeout, TLS failure, or 5xx after retries
    ├── AuthenticationFailed        401 after one re-authentication, bad credentials
    │   └── PermissionDenied        403: the user lacks a role (e.g. monitorImages)
    ├── RequestRejected             400 (and other 4xx); ``console_text`` is the console's ``err``
    ├── RateLimited                 429, or still inside a 429's Retry-After; ``retry_after`` s
    │   └── HeldBack                scanbot's own pacing of a console limit: nothing was sent
    ├── ApiVersionNotFound          404 on a versioned path: PRISMA_API_VERSION is wrong
    ├── ConsoleTooOld               404 on an endpoint the console's version predates
    └── UnexpectedResponse          2xx whose body is not what the API documents
        ├── NotTheComputeApi        HTML answer: PRISMA_CONSOLE_URL is a web page
        └── AnswerTooLarge          body over the client's size cap; not read whole

Every error has three texts, none of which ever holds a credential or token (any encoded
form of them is redacted by the client):

* ``str(err)`` -- what happened, safe to show a user: no host:port, no TLS internals;
* ``err.hint`` -- what the user can do about it;
* ``err.detail`` -- the technical detail for the log (host, exception text); defaults to
  ``str(err)``.  Log this one, show the other two.

An "odd" progress answer (e.g. ``isScanOngoing`` that is not a JSON boolean) is an
:class:`UnexpectedResponse`: a consumer that logs and retries on :class:`ConsoleError`
never mistakes it for a completed scan.
"""

from __future__ import annotations


class ConsoleError(Exception):
    """Base class of every console failure.  ``str()`` and ``hint`` are safe to show a user."""

    #: What the user can do about it; shown under the message in Slack and the CLI.
    hint: str = "Check the console and try again."

    def __init__(self, message: str, *, detail: str = "", hint: str | None = None) -> None:
        super().__init__(message)
        #: Technical detail for the log (may name the host); never shown to users.
        self.detail = detail or message
        if hint is not None:
            self.hint = hint

    def told(self) -> str:
        """What happened and what to do, on one line, each a sentence ending with a stop."""
        parts = [str(self).strip(), self.hint.strip()]
        return " ".join(p if p.endswith((".", "?", "!")) else p + "." for p in parts if p)


class ConsoleUnavailable(ConsoleError):  # noqa: N818
    """The console could not be reached, timed out, or kept answering 5xx."""

    hint = "Check PRISMA_CONSOLE_URL and that the console is up."


class AuthenticationFailed(ConsoleError):  # noqa: N818
    """The console refused the credentials."""

    hint = "Check PRISMA_USER and PRISMA_PASSWORD (access key id / secret key on SaaS)."


class PermissionDenied(AuthenticationFailed):
    """The credentials are valid but lack the permission the endpoint needs."""

    hint = "Give the scanbot user a role with the 'monitorImages' permission."


class RequestRejected(ConsoleError):  # noqa: N818
    """A 4xx refusal; ``console_text`` is the console's own (redacted) ``err`` text."""

    hint = "Check the image name, tag and registry."

    def __init__(self, message: str, console_text: str = "", *, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.console_text = console_text


class RateLimited(ConsoleError):  # noqa: N818
    """429: too many requests; ``retry_after`` is in seconds when known."""

    hint = "The console is rate limiting scanbot; it will try again later."

    def __init__(self, message: str, retry_after: float | None = None, *, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class HeldBack(RateLimited):
    """scanbot's own pacing of a console rate limit held the request back: nothing was
    sent (the console's answers and health are not concerned)."""


class ApiVersionNotFound(ConsoleError):  # noqa: N818
    """404 on a versioned API path: the console does not serve that API version."""

    hint = "Unset PRISMA_API_VERSION to detect it, or pin one the console serves (e.g. v34.04)."


class ConsoleTooOld(ConsoleError):  # noqa: N818
    """404 on an endpoint that the console's version predates (e.g. progress before 30.02)."""

    hint = "Upgrade the Prisma Cloud Compute console to the version named above or newer."

    def __init__(self, message: str, console_version: str, needed: str) -> None:
        super().__init__(message)
        self.console_version = console_version
        self.needed = needed


class UnexpectedResponse(ConsoleError):  # noqa: N818
    """A success status whose body is not what the API documents."""

    hint = "The console answered in an unexpected format; check its version."


class NotTheComputeApi(UnexpectedResponse):
    """The console URL answered with an HTML page instead of the Compute API's JSON."""

    hint = (
        "Set PRISMA_CONSOLE_URL to the Compute API address, not the web UI. On Prisma Cloud "
        "(SaaS) it is the 'Path to Console' shown under Compute > Manage > System > Utilities."
    )


class AnswerTooLarge(UnexpectedResponse):
    """The answer was larger than the client reads; it was abandoned, not read whole."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit
