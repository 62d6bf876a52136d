"""``scanbot run`` looks at the console before it serves, and bad settings read as one line.

Real processes: ``python -m bot`` against the simulated console and the Slack stand-in.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.domain.ports import utc_now
from bot.process.health import Health
from bot.sandbox.console import SandboxConsole
from bot.sandbox.slack.api import SlackApiStandIn
from tests.test_cli import ROOT, clean_env, free_port, scanbot


def run_env(
    console_url: str, slack: SlackApiStandIn, tmp_path: Path, password: str
) -> dict[str, str]:
    return {
        "PRISMA_CONSOLE_URL": console_url,
        "PRISMA_USER": "sandbox",
        "PRISMA_PASSWORD": password,
        "SLACK_BOT_TOKEN": "xoxb-bot",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.api_url,
        "SCANBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "PORT": str(free_port()),
    }


def test_run_exits_3_when_the_console_refuses_the_credentials(tmp_path: Path) -> None:
    """Fails before: ``run`` started and answered 200 on /readyz with a wrong password."""
    with SandboxConsole().start() as console, SlackApiStandIn(token="xoxb-bot").start() as slack:
        env = run_env(console.url, slack, tmp_path, "wrong-password-123")
        result = scanbot("run", "--host", "127.0.0.1", env=env)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("scanbot: PRISMA_USER / PRISMA_PASSWORD: ")
    assert "wrong-password-123" not in result.stderr + result.stdout


def test_run_exits_3_when_the_console_url_is_not_a_compute_console(tmp_path: Path) -> None:
    """Fails before: ``run`` started against any URL (here Slack's stand-in)."""
    with SlackApiStandIn(token="xoxb-bot").start() as slack:
        env = run_env(slack.api_url.removesuffix("/api/"), slack, tmp_path, "p")
        result = scanbot("run", "--host", "127.0.0.1", env=env)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("scanbot: PRISMA_CONSOLE_URL: ")


def test_run_starts_with_an_unreachable_console_and_says_so_once(tmp_path: Path) -> None:
    """Fails before: nothing was logged and /readyz gave no reason until a user asked."""
    with SlackApiStandIn(token="xoxb-bot").start() as slack:
        env = run_env(f"http://127.0.0.1:{free_port()}", slack, tmp_path, "p")
        env["SCANBOT_POLL_SECONDS"] = "1"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"],
            env=clean_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        try:
            readyz = _wait_for_readyz(int(env["PORT"]), proc)
            time.sleep(3)  # a few poll cycles
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    reasons = readyz["reasons"]
    assert isinstance(reasons, dict)
    assert str(reasons["console"]).startswith("the console cannot be reached"), readyz
    told = [line for line in output.splitlines() if "console is unreachable" in line]
    assert len(told) == 1, output
    assert "Traceback" not in output


def _wait_for_readyz(port: int, proc: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "scanbot run exited"
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        report = answer.json()
        assert isinstance(report, dict)
        return report
    raise AssertionError("/readyz did not answer")


def test_an_unreachable_console_is_logged_once_per_change(caplog: pytest.LogCaptureFixture) -> None:
    """Fails before: every poll cycle logged a warning while the console was down."""
    health = Health(poll_seconds=1, clock=utc_now)
    caplog.set_level(logging.INFO, logger="bot.process.health")
    for _ in range(5):
        health.request_done("registry/progress", "console_unavailable", 0.1, detail="refused")
    assert health.state().console_reachable is False
    assert "the console cannot be reached: refused" in json.dumps(
        health.readiness(database_ok=True, now=utc_now())[1]
    )
    for _ in range(3):
        health.request_done("registry/progress", "ok", 0.1)
    assert health.state().console_reachable is True
    health.request_done("registry/progress", "console_unavailable", 0.1, detail="refused")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "the console is unreachable (refused); scanbot keeps trying",
        "the console answers again",
        "the console is unreachable (refused); scanbot keeps trying",
    ]
    _, report = health.readiness(database_ok=True, now=health.state().started_at)
    assert "the console cannot be reached: refused" in json.dumps(report)


# --- one line instead of a traceback ------------------------------------------------------


def test_sandbox_console_on_a_busy_port_says_so_in_one_line() -> None:
    """Fails before: an ``OSError: Address already in use`` traceback, exit 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = scanbot("sandbox-console", "--port", str(port))
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        f"scanbot: --port {port}: cannot listen on 127.0.0.1:{port} (Address already in use); "
        "choose another port (0 picks a free one)"
    ]


def test_sandbox_console_with_a_port_out_of_range_says_so_in_one_line() -> None:
    """Fails before: an ``OverflowError`` traceback."""
    result = scanbot("sandbox-console", "--port", "99999")
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "scanbot: --port 99999: a port is between 1 and 65535 (0 picks a free one)"
    ]


@pytest.mark.parametrize("command", ["check", "run"])
def test_an_unsupported_database_url_is_one_line_naming_the_setting(command: str) -> None:
    """Fails before: a ``ModuleNotFoundError: No module named 'MySQLdb'`` traceback, and
    ``check`` exited 1 (Nagios WARNING) instead of 3 (UNKNOWN)."""
    env = {
        "SCANBOT_DATABASE_URL": "mysql://scanbot:secret-pw@db.example/scanbot",
        "PRISMA_CONSOLE_URL": "http://127.0.0.1:9",
        "PRISMA_USER": "u",
        "PRISMA_PASSWORD": "p",
    }
    result = scanbot(command, env=env)
    shown = result.stdout + result.stderr
    assert result.returncode == 3
    assert "Traceback" not in shown
    assert "SCANBOT_DATABASE_URL: 'mysql' is not supported" in shown
    assert "secret-pw" not in shown
    if command == "run":
        assert len(result.stderr.strip().splitlines()) == 1
    else:
        assert result.stdout.startswith("SCANBOT UNKNOWN - ")


def test_a_postgresql_url_without_a_driver_name_uses_psycopg() -> None:
    from bot.config.settings import load_settings

    settings = load_settings({"SCANBOT_DATABASE_URL": "postgresql://u@h/db"})
    assert settings.scanbot_database_url == "postgresql+psycopg://u@h/db"
