"""``scanbot demo`` as a process: the real bot follows a simulated scan to completion."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.demo.runner import DEMO_COMMANDS, DemoCommand, DemoOptions
from bot.slack.command_text import BadInput, StartScan, Subscribe, parse_command


def test_scanbot_demo_prints_the_parent_its_steps_and_the_completion_then_exits_0() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRISMA_", "SLACK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--fast", "--timeout", "90"],
        capture_output=True,
        text=True,
        env=env,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[message]" in out
    assert "Scan progress: alpine:3.16" in out
    assert "Step 1/2 \u00b7 Discovery" in out
    assert "Step 2/2 \u00b7 Image scan" in out
    assert "[\u21b3 reply]" in out
    assert "Scan complete" in out
    assert "\x1b[" not in out  # not a terminal: plain lines, no live display


def test_scanbot_demo_gives_up_with_a_clear_message_when_the_scan_does_not_complete() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--step-seconds", "60", "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "did not complete within 2 s" in result.stderr


def test_the_demo_commands_are_ones_the_bot_understands() -> None:
    for command in DEMO_COMMANDS:
        assert not isinstance(parse_command(command.text), BadInput)
    assert isinstance(parse_command(DEMO_COMMANDS[0].text), StartScan)
    assert isinstance(parse_command(DEMO_COMMANDS[1].text), Subscribe)
    assert DemoOptions().commands == DEMO_COMMANDS
    assert DemoCommand("subscribe", regular_scan=True).sandbox_scan is None
