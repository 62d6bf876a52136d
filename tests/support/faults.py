"""Fault injection that only the tests use, on top of the stand-ins' own mechanisms.

The Slack stand-in queues faults per method (``SlackApiStandIn.queue_fault``); the simulated
console has its fault queue (``SandboxConsole.inject_fault``, used by the benchmark too).
These shorthands name the faults the tests need.
"""

from __future__ import annotations

from bot.sandbox.console import SandboxConsole
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.faults import FaultKind, SlackFault

# --- the Slack stand-in ----------------------------------------------------------------


def fail_next(
    slack: SlackApiStandIn, method: str, error: str = "internal_error", count: int = 1
) -> None:
    """The next ``count`` calls to ``method`` answer ``{"ok": false, "error": error}`` and
    do nothing (``invalid_blocks``, ``channel_not_found``, ``is_archived``,
    ``account_inactive``, ``invalid_auth``, ``message_not_found``, ...)."""
    slack.queue_fault(method, SlackFault(FaultKind.ERROR, count, error=error))


def fail_http_next(slack: SlackApiStandIn, method: str, status: int = 500, count: int = 1) -> None:
    """The next ``count`` calls to ``method`` answer HTTP ``status`` with a text body."""
    slack.queue_fault(method, SlackFault(FaultKind.HTTP_STATUS, count, status=status))


def stall_next(slack: SlackApiStandIn, method: str, seconds: float, count: int = 1) -> None:
    """The next ``count`` calls to ``method`` take effect but are answered only after
    ``seconds`` (a client with a shorter timeout gives up; ``stop()`` cuts it short)."""
    slack.queue_fault(method, SlackFault(FaultKind.STALL, count, seconds=seconds))


def accept_then_fail_next(
    slack: SlackApiStandIn, method: str, status: int = 500, count: int = 1
) -> None:
    """The next ``count`` calls to ``method`` take effect (the message is posted), then
    answer HTTP ``status``: the client cannot tell that it worked."""
    slack.queue_fault(method, SlackFault(FaultKind.ACCEPTED_THEN_FAIL, count, status=status))


def reset_next(slack: SlackApiStandIn, method: str, count: int = 1) -> None:
    """The next ``count`` calls to ``method`` have their connection reset, unanswered."""
    slack.queue_fault(method, SlackFault(FaultKind.RESET, count))


# --- the simulated console -------------------------------------------------------------


def expire_tokens(console: SandboxConsole) -> None:
    """Invalidate every token the console issued so far."""
    console._routes.tokens.expire_all()


def emulate_old_console(console: SandboxConsole, version: str | None = "22.12.585") -> None:
    """Answer like a console older than 30.02: ``version`` on ``/version`` and 404 on
    ``/registry/progress``; ``None`` makes it current again."""
    console._routes.mode.old_version = version
