"""The errors the console client raises.  Nothing else escapes :mod:`bot.console.client`.

::

    ConsoleError                    base class; ``str(err)`` is safe to show a user
    ├── ConsoleUnavailable          connect error, timeout, or 5xx after retries
    ├── AuthenticationFailed        401 after one re-authentication, bad credentials
    │   └── PermissionDenied        403: the user lacks a role (e.g. monitorImages)
    ├── RequestRejected             400; ``detail`` carries the console's ``err`` text
    ├── RateLimited                 429; ``retry_after`` seconds when the console said
    ├── ApiVersionNotFound          404 on a versioned path: PRISMA_API_VERSION is wrong
    └── UnexpectedResponse          2xx whose body is not what the API documents

Messages never contain credentials or tokens.
"""

from __future__ import annotations


class ConsoleError(Exception):
    """Base class of every console failure.  The message is safe to show a user."""

    #: What the user can do about it; shown under the message in Slack and the CLI.
    hint: str = "Check the console and try again."


class ConsoleUnavailable(ConsoleError):  # noqa: N818
    """The console could not be reached, timed out, or kept answering 5xx."""

    hint = "Check PRISMA_CONSOLE_URL and that the console is up; scanbot retries by itself."


class AuthenticationFailed(ConsoleError):  # noqa: N818
    """The console refused the credentials."""

    hint = "Check PRISMA_USER and PRISMA_PASSWORD (access key id / secret key on SaaS)."


class PermissionDenied(AuthenticationFailed):
    """The credentials are valid but lack the permission the endpoint needs."""

    hint = "Give the scanbot user a role with the 'monitorImages' permission."


class RequestRejected(ConsoleError):  # noqa: N818
    """400: the console rejected the request; ``detail`` is the console's own ``err`` text."""

    hint = "Check the image name, tag and registry."

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class RateLimited(ConsoleError):  # noqa: N818
    """429: too many requests; ``retry_after`` is in seconds when the console said."""

    hint = "The console is rate limiting scanbot; it will try again later."

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ApiVersionNotFound(ConsoleError):  # noqa: N818
    """404 on a versioned API path: the console does not serve that API version."""

    hint = "Unset PRISMA_API_VERSION to detect it, or pin one the console serves (e.g. v34.04)."


class UnexpectedResponse(ConsoleError):  # noqa: N818
    """A success status whose body is not what the API documents."""

    hint = "The console answered in an unexpected format; check its version."
