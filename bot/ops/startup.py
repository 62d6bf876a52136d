"""``scanbot run``'s look at the console before it serves: a misconfiguration stops it,
an unreachable console does not.

Refused credentials and a ``PRISMA_CONSOLE_URL`` that is not a Compute console cannot get
better by waiting, so ``run`` exits with the reason (exit code 3).  A console that cannot
be reached now may come back: the bot starts, says so in one log line and lists it among
``/readyz``'s reasons until the console answers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

import stamina

from bot.config.settings import SettingsError
from bot.console.errors import (
    AuthenticationFailed,
    ConsoleError,
    ConsoleUnavailable,
    RateLimited,
)


class StartupProbe(Protocol):
    """What the look needs of :class:`bot.console.client.ConsoleClient`."""

    def ping(self) -> None: ...

    def version(self) -> str: ...


@contextlib.contextmanager
def no_retries() -> Iterator[None]:
    """Console calls answer at once instead of retrying (one-shot commands, the start)."""
    was_active = stamina.is_active()
    stamina.set_active(False)
    try:
        yield
    finally:
        stamina.set_active(was_active)


def check_console_at_start(console: StartupProbe) -> str | None:
    """``None`` when the console answers and accepts the credentials; the reason when it
    cannot be reached now.  Raises :class:`SettingsError` (one line naming the setting)
    when it refuses the credentials or is not a Compute console."""
    try:
        with no_retries():
            console.ping()
            console.version()  # authenticated: proves the credentials
    except (ConsoleUnavailable, RateLimited) as exc:
        return str(exc)
    except AuthenticationFailed as exc:
        raise SettingsError(f"PRISMA_USER / PRISMA_PASSWORD: {exc.told()}") from None
    except ConsoleError as exc:
        raise SettingsError(f"PRISMA_CONSOLE_URL: {exc.told()}") from None
    return None
