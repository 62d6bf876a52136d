"""The HTTP surface: /healthz reflects the process's own machinery; unknown paths 404."""

from __future__ import annotations

import ast
import gc
import os
import signal
import sys
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import httpx

from bot.config.settings import Settings
from bot.runtime import build_runtime
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.server import (
    SWITCH_INTERVAL_SECONDS,
    ServerLimits,
    build_wsgi_app,
    serve,
    server_limits,
)
from tests.support.harness import BOT_TOKEN, harness_settings, running_bot


def test_healthz_is_503_while_the_running_process_has_no_scheduler_then_200(
    tmp_path: Path,
) -> None:
    with running_bot(tmp_path) as bot:
        before = httpx.get(f"{bot.url}/healthz")
        assert before.status_code == 503
        assert before.json()["scheduler"] == "stopped"
        assert "scheduler" in before.json()["problems"]

        bot.runtime.start()
        after = httpx.get(f"{bot.url}/healthz")
        assert after.status_code == 200
        assert after.json() == {"status": "ok", "phase": "running", "scheduler": "running"}


def test_healthz_stays_200_while_slack_refuses_the_token(tmp_path: Path) -> None:
    """Outside faults are not liveness failures: restarting every replica fixes none of them
    (a PostgreSQL outage is proven in tests/reliability/test_replicas_postgres.py; a SQLite
    file deleted under the process is its own fault, see test_database_file.py)."""
    with running_bot(tmp_path) as bot:
        bot.runtime.start()
        bot.runtime.sender.status.not_authorized = "token_revoked"
        bot.runtime.supervisor.run()
        live = httpx.get(f"{bot.url}/healthz")
        readiness = httpx.get(f"{bot.url}/readyz").json()
        bot.runtime.sender.status.not_authorized = None
        assert live.status_code == 200
        assert readiness["reasons"]["slack"] == "Slack refuses the bot token (token_revoked)"


def test_unknown_paths_are_404_and_events_need_post(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        assert httpx.get(f"{bot.url}/nope").status_code == 404
        assert httpx.get(f"{bot.url}/slack/events").status_code == 404


def test_in_socket_mode_the_http_server_answers_health_checks_only(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        app = build_wsgi_app(bot.runtime, serve_slack=False)
        statuses: list[str] = []

        def call(method: str, path: str) -> str:
            environ: dict[str, object] = {}
            setup_testing_defaults(environ)
            environ.update(REQUEST_METHOD=method, PATH_INFO=path)
            b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))  # type: ignore[arg-type]
            return statuses[-1]

        assert call("POST", "/slack/events").startswith("404")
        assert call("GET", "/healthz").startswith("503")  # scheduler not started in tests


def test_serve_shortens_the_interpreter_switch_interval_while_serving_then_restores_it(
    tmp_path: Path,
) -> None:
    """A request handed between waitress's threads waits at most this long for the lock."""
    seen: list[float] = []

    def listening(_port: int) -> None:
        seen.append(sys.getswitchinterval())
        os.kill(os.getpid(), signal.SIGTERM)  # serve's handler stops it, as in production

    before = sys.getswitchinterval()
    try:
        with (
            SandboxConsole(SandboxConsoleConfig()).start() as console,
            SlackApiStandIn(token=BOT_TOKEN).start() as slack,
        ):
            settings = harness_settings(console, slack, tmp_path / "scanbot.db")
            runtime = build_runtime(settings, channel_interval=0.0)
            serve(runtime, host="127.0.0.1", port=0, on_listening=listening)
    finally:
        gc.unfreeze()  # serve froze the test process's heap once listening
    assert seen == [SWITCH_INTERVAL_SECONDS]
    assert before > SWITCH_INTERVAL_SECONDS
    assert sys.getswitchinterval() == before


def _literal_getattr_names(root: Path) -> list[tuple[str, str]]:
    """(file, name) of every ``getattr(obj, "name", ...)`` with a literal name in ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                found.append((path.name, node.args[1].value))
    return found


def test_every_setting_the_bot_reads_by_name_exists() -> None:
    """A setting read with ``getattr`` and a default can never be set if Settings lacks it.

    Failed before the fix: ``bot/server.py`` read ``scanbot_http_connection_limit``,
    ``scanbot_http_channel_timeout_seconds`` and ``scanbot_http_threads``, which Settings
    does not define, so those limits were always their defaults.
    """
    bot = Path(__file__).resolve().parent.parent / "bot"
    read = [(f, name) for f, name in _literal_getattr_names(bot) if name.startswith("scanbot_")]
    assert [(f, name) for f, name in read if name not in Settings.model_fields] == []


def test_the_server_takes_the_body_limit_from_settings_and_keeps_its_own_limits(
    tmp_path: Path,
) -> None:
    """``SCANBOT_MAX_BODY_BYTES`` reaches waitress; the connection limits are the product's."""
    with SandboxConsole(SandboxConsoleConfig()) as console, SlackApiStandIn() as slack:
        settings = harness_settings(
            console, slack, tmp_path / "bot.db", scanbot_max_body_bytes=4096
        )
        limits = server_limits(settings)
    assert limits == ServerLimits(max_body_bytes=4096)
    assert limits.waitress_options()["max_request_body_size"] == 4096
