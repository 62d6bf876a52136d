"""The `scanbot` command as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from bot.sandbox.slack.api import SlackApiStandIn

ROOT = Path(__file__).resolve().parents[1]


def scanbot(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PRISMA_", "SLACK_", "SCANBOT_"))
    }
    env.update(extra or {})
    return env


def test_the_readme_run_command_follows_a_sandbox_scan_to_completion() -> None:
    result = scanbot("progress", "--sandbox", "alpine:3.16", "--watch", "--interval", "0.2")
    assert result.returncode == 0, result.stderr
    assert "alpine:3.16: Step 1/2" in result.stdout
    assert "Scan complete: 8/8 images scanned" in result.stdout


def test_progress_without_console_settings_names_the_missing_variables() -> None:
    result = scanbot("progress", "alpine:3.16")
    assert result.returncode == 3
    assert "PRISMA_CONSOLE_URL, PRISMA_USER, PRISMA_PASSWORD not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_image_reference_exits_2_with_an_example() -> None:
    result = scanbot("progress", "--sandbox", "Alpine:3.16")
    assert result.returncode == 2
    assert "lowercase" in result.stderr
    assert "e.g." in result.stderr


def test_an_invalid_setting_exits_3_naming_it() -> None:
    result = scanbot("progress", env={"SCANBOT_POLL_SECONDS": "0"})
    assert result.returncode == 3
    assert "SCANBOT_POLL_SECONDS" in result.stderr


def test_run_with_a_token_slack_rejects_says_which_setting_to_fix(tmp_path: Path) -> None:
    with SlackApiStandIn(token="xoxb-the-right-one").start() as slack:
        env = {
            "PRISMA_CONSOLE_URL": "http://127.0.0.1:9",
            "PRISMA_USER": "u",
            "PRISMA_PASSWORD": "p",
            "SLACK_BOT_TOKEN": "xoxb-wrong-token-123",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": slack.api_url,
            "SCANBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        }
        result = scanbot("run", env=env)
    assert result.returncode == 3
    assert "SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)" in result.stderr
    assert "xoxb-wrong-token-123" not in result.stderr
    assert "Traceback" not in result.stderr


def test_run_in_socket_mode_with_a_refused_app_token_says_which_setting_to_fix(
    tmp_path: Path,
) -> None:
    with SlackApiStandIn(token="xoxb-bot").start() as slack:
        env = {
            "PRISMA_CONSOLE_URL": "http://127.0.0.1:9",
            "PRISMA_USER": "u",
            "PRISMA_PASSWORD": "p",
            "SLACK_BOT_TOKEN": "xoxb-bot",
            "SLACK_APP_TOKEN": "xapp-1-refused-secret",
            "SLACK_API_URL": slack.api_url,
            "SCANBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "PORT": str(free_port()),
        }
        result = scanbot("run", "--host", "127.0.0.1", env=env)
        assert "apps.connections.open" in [c.method for c in slack.calls]
    assert result.returncode == 3
    assert "SLACK_APP_TOKEN" in result.stderr
    assert "xapp-1-refused-secret" not in result.stderr + result.stdout


def test_run_with_a_database_it_cannot_open_names_the_setting(tmp_path: Path) -> None:
    with SlackApiStandIn(token="xoxb-bot").start() as slack:  # Slack is checked first
        env = {
            "PRISMA_CONSOLE_URL": "http://127.0.0.1:9",
            "PRISMA_USER": "u",
            "PRISMA_PASSWORD": "p",
            "SLACK_BOT_TOKEN": "xoxb-bot",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": slack.api_url,
            "SCANBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}",
        }
        result = scanbot("run", env=env)
    assert result.returncode == 3
    assert "SCANBOT_DATABASE_URL: cannot open the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_sandbox_console_runs_on_its_own_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox-console", "--port", "0", "--seed", "alpine:3.16"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert match, first
        url = match.group(0)
        answer = httpx.get(
            f"{url}/api/v34.04/registry/progress",
            params={"onDemand": "true", "repo": "library/alpine", "tag": "3.16"},
            auth=("sandbox", "sandbox-password"),
        )
        assert answer.status_code == 200
        assert answer.json()[0]["isScanOngoing"] is True
        edge = httpx.get(
            f"{url}/api/v34.04/registry/progress",
            params={"repo": "library/alpine", "tag": "3.16"},
            auth=("sandbox", "sandbox-password"),
        )
        assert edge.status_code == 400
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def console_env(console_url: str, password: str = "sandbox-password") -> dict[str, str]:
    return {
        "PRISMA_CONSOLE_URL": console_url,
        "PRISMA_USER": "sandbox",
        "PRISMA_PASSWORD": password,
    }


def test_check_exits_0_against_a_healthy_console_without_any_slack_setting() -> None:
    from bot.sandbox.console import SandboxConsole

    with SandboxConsole().start() as console:
        result = scanbot("check", env=console_env(console.url))
        as_json = scanbot("check", "--json", env=console_env(console.url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("SCANBOT OK - console 34.04.145 reachable in ")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["status"] == "OK"


def test_check_exits_2_for_a_wrong_password_and_for_a_console_that_is_down() -> None:
    from bot.sandbox.console import SandboxConsole

    with SandboxConsole().start() as console:
        refused = scanbot("check", "--json", env=console_env(console.url, "wrong"))
    down = scanbot("check", env=console_env(f"http://127.0.0.1:{free_port()}"))
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["status"] == "CRITICAL"
    assert down.returncode == 2
    assert down.stdout.startswith("SCANBOT CRITICAL - console unreachable")


def test_check_exits_3_unknown_for_a_configuration_it_cannot_use() -> None:
    missing = scanbot("check")
    invalid = scanbot("check", "--json", env={"PRISMA_CONSOLE_URL": "console.example.com"})
    assert missing.returncode == 3
    assert missing.stdout.startswith("SCANBOT UNKNOWN - configuration unusable: PRISMA_")
    assert invalid.returncode == 3
    assert "PRISMA_CONSOLE_URL" in json.loads(invalid.stdout)["summary"]


def test_a_bad_port_does_not_stop_commands_that_do_not_listen_on_it() -> None:
    result = scanbot("check", env={"PORT": "not-a-port"})
    assert "PORT" not in result.stdout + result.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox-console", "--port", "0"],
        env=clean_env({"PORT": "not-a-port", "SCANBOT_LOG_LEVEL": "debug"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        assert "sandbox console: http://127.0.0.1:" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_with_slack_unreachable_names_slack_and_creates_no_database(
    tmp_path: Path,
) -> None:
    env = {
        "PRISMA_CONSOLE_URL": "http://127.0.0.1:9",
        "PRISMA_USER": "u",
        "PRISMA_PASSWORD": "p",
        "SLACK_BOT_TOKEN": "xoxb-bot",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # the default SCANBOT_DATABASE_URL is ./scanbot.db
        check=False,
    )
    assert result.returncode == 4, result.stderr
    assert "cannot reach Slack at SLACK_API_URL=" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "scanbot.db").exists()


def test_progress_sandbox_without_an_image_shows_the_regular_scan() -> None:
    result = scanbot("progress", "--sandbox")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("regular registry scan: ")


def test_help_lists_settings_exit_codes_and_option_help() -> None:
    run_help = scanbot("run", "--help").stdout
    for variable in ("PRISMA_CONSOLE_URL", "SLACK_BOT_TOKEN", "SCANBOT_LOG_FORMAT", "PORT"):
        assert variable in run_help
    assert "exit codes" in scanbot("progress", "--help").stdout
    assert "Nagios" in scanbot("check", "--help").stdout
    sandbox_help = scanbot("sandbox-console", "--help").stdout
    assert "bind address" in sandbox_help
    assert "0 picks a free one" in sandbox_help


def test_the_sandbox_console_writes_results_late_or_never_on_request() -> None:
    assert "--result-delay" in scanbot("sandbox-console", "--help").stdout
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox-console", "--result-delay", "soon"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "'soon' is not a number of seconds or 'never'" in refused.stderr
