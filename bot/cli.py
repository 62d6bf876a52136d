"""The ``scanbot`` command line.  Thin: parse arguments, build settings, call factories.

Exit codes: 0 done (scan complete, idle, or clean shutdown); 1 the scan failed;
2 bad usage or input; 3 configuration or console error.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence

from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot import __version__
from bot.console.errors import ConsoleError
from bot.images import ImageReferenceError, ScanTarget, parse_image_reference
from bot.logging_setup import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from bot.terminal import EXIT_CONSOLE, EXIT_USAGE

DEMO_IMAGE = "alpine:3.16"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scanbot",
        description="Follow Prisma Cloud Compute registry scans from Slack and the terminal.",
    )
    parser.add_argument("--version", action="version", version=f"scanbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "run",
        help="run the Slack bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT)",
    ).add_argument("--host", default="0.0.0.0", help="HTTP bind address (default 0.0.0.0)")  # noqa: S104

    progress = commands.add_parser(
        "progress", help="print a scan's progress (the regular registry scan without IMAGE)"
    )
    progress.add_argument(
        "image", nargs="*", metavar="IMAGE", help="e.g. alpine:3.16, alpine 3.16, repo@sha256:…"
    )
    progress.add_argument("--watch", action="store_true", help="redraw until the scan completes")
    progress.add_argument(
        "--interval", type=float, default=None, help="seconds between polls with --watch"
    )
    progress.add_argument(
        "--sandbox",
        action="store_true",
        help="use an embedded simulated console with a scan of IMAGE (default alpine:3.16) "
        "running: no Prisma console needed",
    )

    sandbox = commands.add_parser(
        "sandbox-console", help="run the simulated Prisma Cloud Compute console on its own"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8083)
    sandbox.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="IMAGE",
        help="start an on-demand scan of IMAGE at boot (repeatable)",
    )
    sandbox.add_argument("--regular", action="store_true", help="start a regular scan at boot")
    sandbox.add_argument("--step-seconds", type=float, default=2.0, help="seconds per scan item")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"scanbot: {exc}", file=sys.stderr)
        return EXIT_CONSOLE
    configure_logging(settings.scanbot_log_level)
    try:
        if args.command == "run":
            return _run(settings, host=args.host)
        if args.command == "progress":
            return _progress(settings, args)
        if args.command == "sandbox-console":
            return _sandbox_console(args)
    except SettingsError as exc:
        print(f"scanbot: {exc}", file=sys.stderr)
        return EXIT_CONSOLE
    except ImageReferenceError as exc:
        print(f"scanbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConsoleError as exc:
        print(f"scanbot: {exc}\n{exc.hint}", file=sys.stderr)
        return EXIT_CONSOLE
    return EXIT_USAGE


def _run(settings: Settings, *, host: str) -> int:
    from bot.runtime import build_runtime  # noqa: PLC0415 - the bot's imports are heavy
    from bot.server import serve  # noqa: PLC0415

    settings.require_console()
    settings.require_slack()
    try:
        runtime = build_runtime(settings)
        serve(runtime, host=host, port=settings.port)
    except OSError as exc:  # Slack unreachable at start, the port taken
        print(f"scanbot: cannot start: {exc}", file=sys.stderr)
        return EXIT_CONSOLE
    except SQLAlchemyError as exc:  # the database cannot be opened or migrated
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(
            f"scanbot: SCANBOT_DATABASE_URL: cannot open the database ({reason})", file=sys.stderr
        )
        return EXIT_CONSOLE
    except SlackApiError as exc:  # Socket Mode: apps.connections.open refused
        code = exc.response.get("error", "unknown error") if exc.response else "unknown error"
        print(
            f"scanbot: Slack refused the Socket Mode connection ({code}); check SLACK_APP_TOKEN "
            "(an xapp- app-level token with the connections:write scope)",
            file=sys.stderr,
        )
        return EXIT_CONSOLE
    return 0


def _progress(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console.client import ConsoleClient  # noqa: PLC0415
    from bot.terminal import show_progress  # noqa: PLC0415

    text = " ".join(args.image).strip()
    target: ScanTarget | None = parse_image_reference(text) if text else None
    interval = args.interval if args.interval is not None else settings.scanbot_poll_seconds
    with contextlib.ExitStack() as stack:
        if args.sandbox:
            target = target or parse_image_reference(DEMO_IMAGE)
            settings = stack.enter_context(_sandboxed(settings, target))
            interval = args.interval if args.interval is not None else 1.0
        client = stack.enter_context(ConsoleClient.from_settings(settings))
        return show_progress(client, target, watch=args.watch, interval=max(0.2, interval))


@contextlib.contextmanager
def _sandboxed(settings: Settings, target: ScanTarget) -> Iterator[Settings]:
    """Settings pointing at an embedded simulated console with ``target``'s scan running."""
    from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig  # noqa: PLC0415

    config = SandboxConsoleConfig(step_seconds=0.5, seed_regular_scan=True)
    with SandboxConsole(config).start() as console:
        console.start_on_demand_scan(
            target.repo,
            tag=target.tag,
            digest=target.digest,
            registry=target.registry,
            discovery_total=1,
            images=8,
            when_asked=True,  # the scan starts at the client's first question: both steps show
        )
        yield settings.model_copy(
            update={
                "prisma_console_url": console.url,
                "prisma_user": config.user,
                "prisma_password": SecretStr(config.password),
                "prisma_api_version": None,
            }
        )


def _sandbox_console(args: argparse.Namespace) -> int:
    from bot.sandbox.console import SandboxConsoleConfig, serve_forever  # noqa: PLC0415

    seeds = tuple(parse_image_reference(seed).key for seed in args.seed)
    config = SandboxConsoleConfig(
        step_seconds=args.step_seconds, seed_on_demand=seeds, seed_regular_scan=args.regular
    )
    serve_forever(config, args.host, args.port)
    return 0
