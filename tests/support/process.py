"""``scanbot run`` as a child process against the stand-ins in the test process.

The simulated console and the Slack stand-in run in the test process; the bot runs as
``python -m bot run`` in HTTP mode and is reached only over loopback HTTP.  Its stdout
and stderr go to one log file the tests read.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bot.sandbox.console import SandboxConsole
from bot.sandbox.slack.api import SlackApiStandIn
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    def __init__(
        self, env: dict[str, str], log: Path, *, module: tuple[str, ...] = ("bot", "run")
    ) -> None:
        """``python -m <module...>`` (``scanbot run`` unless told otherwise)."""
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        args = [*module, "--host", "127.0.0.1"] if module == ("bot", "run") else list(module)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, timeout: float = 30.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "scanbot exited during start"
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=1)
                if response.status_code == 200:
                    return dict(response.json())
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("scanbot did not become healthy")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


def bot_env(
    console: SandboxConsole, slack: SlackApiStandIn, database_url: str, **extra: str
) -> dict[str, str]:
    """The environment of ``scanbot run``: the stand-ins, a 1 s poll, ``extra`` on top."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PRISMA_", "SLACK_", "SCANBOT_"))
    }
    env.update(
        {
            "PRISMA_CONSOLE_URL": console.url,
            "PRISMA_USER": "sandbox",
            "PRISMA_PASSWORD": "sandbox-password",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "SCANBOT_DATABASE_URL": database_url,
            "SCANBOT_POLL_SECONDS": "1",
            "SCANBOT_THREAD_UPDATE_SECONDS": "0",
            "PORT": str(free_port()),
        }
    )
    env.update(extra)
    return env


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def exits_after(script: str, tmp_path: Path, *, printed: str) -> None:
    """Run ``script`` in a Python process of its own; it must exit with 0 having printed
    exactly ``printed`` (well before 120 s: a process kept alive by a thread fails)."""
    path = tmp_path / "script.py"
    path.write_text(script)
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == printed
