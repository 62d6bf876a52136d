"""The simulated Prisma Cloud Compute console (see :mod:`bot.sandbox.console.server`).

``config`` its settings, ``state`` / ``scans`` / ``images`` the simulation, ``http`` /
``faults`` / ``routes`` the HTTP API, ``server`` the :class:`SandboxConsole` object.
"""

from bot.sandbox.console.config import RecordedRequest, SandboxConsoleConfig
from bot.sandbox.console.faults import FAULT_KINDS
from bot.sandbox.console.server import SandboxConsole, serve_forever

__all__ = [
    "FAULT_KINDS",
    "RecordedRequest",
    "SandboxConsole",
    "SandboxConsoleConfig",
    "serve_forever",
]
