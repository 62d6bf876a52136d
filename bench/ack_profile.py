"""Time (and let a profiler see) the CPU one signed ``/scanprogress`` costs before its ack.

    python -m pyinstrument -m bench.ack_profile [COUNT] [help|follow]

Builds the bot (not started) against the simulated console and the Slack stand-in on
loopback and calls its WSGI app directly, in this thread, with ``COUNT`` signed slash
commands: no HTTP server, no client, so the profile shows only the bot's own request path
(the guard, bolt, the ack timer, the listener).  Follows hand their work to the work queue,
whose threads the profile does not show.  Nothing is asserted.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.run import FROZEN, SECRET, TOKEN, BenchConfig, _bot_env
from bot.config.settings import load_settings
from bot.runtime import build_runtime
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.signing import signed_headers, slash_command_body
from bot.server import build_wsgi_app


def _environ(body: bytes, headers: dict[str, str]) -> dict[str, object]:
    environ: dict[str, object] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "CONTENT_TYPE": headers["Content-Type"],
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    for name, value in headers.items():
        if name.lower() != "content-type":
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def statuses_of(statuses: list[str]) -> object:
    """A WSGI ``start_response`` that keeps the status lines."""

    def start_response(status: str, _headers: object, *_: object) -> None:
        statuses.append(status)

    return start_response


def run(count: int, kind: str) -> list[float]:
    took: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="scanbot-ack-") as tmp,
        SandboxConsole(SandboxConsoleConfig(step_seconds=FROZEN)).start() as console,
        SlackApiStandIn(token=TOKEN).start() as slack,
    ):
        env = _bot_env(console, slack, f"sqlite:///{Path(tmp) / 'scanbot.db'}", BenchConfig())
        runtime = build_runtime(load_settings(env, only=None), token_verification=False)
        app = build_wsgi_app(runtime, serve_slack=True)
        respond = slack.response_url("ack-profile")
        try:
            for i in range(count):
                text = "help"
                if kind == "follow":
                    console.start_on_demand_scan(f"bench/ack{i}", tag="1.0", images=1000)
                    text = f"bench/ack{i}:1.0"
                body = slash_command_body(
                    text=text,
                    channel_id=f"CACK{i:05d}",
                    response_url=respond,
                    trigger_id=uuid.uuid4().hex,
                )
                environ = _environ(body, signed_headers(SECRET, body))
                statuses: list[str] = []
                started = time.perf_counter()
                answer = b"".join(app(environ, statuses_of(statuses)))  # type: ignore[arg-type]
                took.append(time.perf_counter() - started)
                if not statuses or not statuses[0].startswith("200"):
                    raise RuntimeError(f"request {i} answered {statuses} {answer!r}")
            runtime.work.wait_idle(60)
        finally:
            runtime.shutdown()
    return took


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv and argv[0].isdigit() else 1000
    kind = argv[1] if len(argv) > 1 else "help"
    took = sorted(run(count, kind))
    print(
        f"{kind}: {count} requests, median {took[len(took) // 2] * 1000:.2f} ms, "
        f"p99 {took[int(0.99 * (len(took) - 1))] * 1000:.2f} ms per request in-process"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
