"""What one-shot commands print: one prefix, no log noise, sentences, help that helps."""

from __future__ import annotations

import json

import pytest

from bot.sandbox.console import SandboxConsole
from tests.test_cli import free_port, scanbot


def console_env(url: str, password: str = "sandbox-password") -> dict[str, str]:
    return {"PRISMA_CONSOLE_URL": url, "PRISMA_USER": "sandbox", "PRISMA_PASSWORD": password}


def test_progress_prints_no_info_log_line() -> None:
    """Fails before: every run printed "INFO bot.console.client: console API version …"."""
    with SandboxConsole().start() as console:
        result = scanbot("progress", env=console_env(console.url))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("regular registry scan: ")


def test_an_unreachable_console_is_told_at_once_in_one_voice() -> None:
    """Fails before: stamina.retry_scheduled warnings came first, the prefix was "error:"
    and the hint said "scanbot retries by itself" to a command that does not."""
    result = scanbot("progress", env=console_env(f"http://127.0.0.1:{free_port()}"))
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("scanbot: the console could not be reached")
    assert "stamina" not in result.stderr
    assert "retries by itself" not in result.stderr
    assert len(lines) == 2


def test_check_findings_are_sentences() -> None:
    """Fails before: "…rejected PRISMA_USER/PRISMA_PASSWORD Check PRISMA_USER…"."""
    with SandboxConsole().start() as console:
        result = scanbot("check", env=console_env(console.url, "wrong"))
    assert result.returncode == 2
    assert "PRISMA_PASSWORD. Check PRISMA_USER" in result.stdout


@pytest.mark.parametrize("option", ["--max-age-hours", "--warn-latency-ms"])
def test_check_refuses_a_threshold_that_is_not_above_zero(option: str) -> None:
    """Fails before: ``check --max-age-hours -5`` was accepted."""
    result = scanbot("check", option, "-5", "--json", env=console_env("http://127.0.0.1:9"))
    assert result.returncode == 3
    assert json.loads(result.stdout)["summary"].endswith(f"{option} -5: give a number above 0")


@pytest.mark.parametrize("command", ["demo", "sandbox-console", "run", "check", "progress"])
def test_help_lists_the_settings_read_and_the_exit_codes(command: str) -> None:
    """Fails before: ``demo`` and ``sandbox-console`` listed neither, although the README
    says every command's help does."""
    shown = scanbot(command, "--help").stdout
    assert "SCANBOT_LOG_LEVEL" in shown
    assert "exit codes" in shown
    assert "issue" not in shown.lower()
