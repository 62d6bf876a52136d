"""`scanbot check` against the simulated console on loopback: exit codes, summary, --json."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.config.settings import Settings, load_settings
from bot.console.client import ConsoleClient
from bot.domain.ports import utc_now
from bot.ops.check import Thresholds, run_checks
from bot.ops.command import run_check_command
from bot.ops.report import Status
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig


@pytest.fixture
def console() -> Iterator[SandboxConsole]:
    with SandboxConsole(SandboxConsoleConfig(step_seconds=60.0)).start() as running:
        yield running


def settings_for(console: SandboxConsole, *, password: str | None = None) -> Settings:
    return load_settings(
        {},
        prisma_console_url=console.url,
        prisma_user=console.config.user,
        prisma_password=SecretStr(password or console.config.password),
    )


def check(settings: Settings, *, as_json: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    code = run_check_command(settings, thresholds=Thresholds(), as_json=as_json, out=out)
    return code, out.getvalue()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_healthy_console_is_ok_with_the_summary_line_first(console: SandboxConsole) -> None:
    code, text = check(settings_for(console))
    assert code == 0, text
    first = text.splitlines()[0]
    assert first.startswith("SCANBOT OK - console 34.04.145 reachable in ")
    assert "auth ok" in first
    assert "regular scan idle" in first
    assert "| latency_ms=" in first


def test_json_output_carries_the_status_and_every_check(console: SandboxConsole) -> None:
    console.start_regular_scan()
    code, text = check(settings_for(console), as_json=True)
    document = json.loads(text)
    assert code == 0
    assert document["status"] == "OK"
    assert document["exit_code"] == 0
    names = {item["name"]: item for item in document["checks"]}
    assert names["console"]["data"]["version"] == "34.04.145"
    assert names["auth"]["status"] == "OK"
    assert names["regular_scan"]["data"]["phase"] in ("discovering", "scanning")


def test_a_wrong_password_is_critical_and_says_which_settings_to_check(
    console: SandboxConsole,
) -> None:
    code, text = check(settings_for(console, password="wrong-password"), as_json=True)
    document = json.loads(text)
    assert code == 2
    assert document["status"] == "CRITICAL"
    auth = next(item for item in document["checks"] if item["name"] == "auth")
    assert auth["status"] == "CRITICAL"
    assert "PRISMA_PASSWORD" in auth["detail"]
    assert "wrong-password" not in text


def test_a_console_that_is_down_is_critical() -> None:
    settings = load_settings(
        {},
        prisma_console_url=f"http://127.0.0.1:{closed_port()}",
        prisma_user="u",
        prisma_password=SecretStr("p"),
    )
    code, text = check(settings, as_json=True)
    document = json.loads(text)
    assert code == 2
    assert document["summary"].startswith("SCANBOT CRITICAL - console unreachable")
    assert [item["name"] for item in document["checks"]] == ["console"]


def test_a_regular_scan_running_longer_than_the_max_age_is_a_stall_warning(
    console: SandboxConsole,
) -> None:
    console.start_regular_scan()
    three_days_later = utc_now() + timedelta(days=3)
    with ConsoleClient(settings_for(console)) as client:
        report = run_checks(client, now=lambda: three_days_later, thresholds=Thresholds())
    assert report.status is Status.WARNING
    assert "regular scan stalled (running for 3d)" in report.summary()


def test_a_slow_console_is_a_warning(console: SandboxConsole) -> None:
    ticks = iter([0.0, 5.0])  # the ping "took" 5 s on this timer
    with ConsoleClient(settings_for(console)) as client:
        report = run_checks(
            client, now=utc_now, thresholds=Thresholds(slow_ms=2000), timer=lambda: next(ticks)
        )
    assert report.status is Status.WARNING
    assert "reachable in 5000 ms (slow)" in report.summary()
