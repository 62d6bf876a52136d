"""The ``scanbot`` command line.  Thin: parse arguments, build settings, call factories.

Exit codes (see :mod:`bot.cli.help`): 0 done (scan complete, idle, or clean shutdown);
1 the scan failed; 2 bad usage or input; 3 (``EXIT_CONFIG``) a setting is missing, invalid
or refused (console credentials, Slack token, database, port); 4 (``EXIT_UNAVAILABLE``)
``run`` could not reach Slack.  ``check`` uses the Nagios codes 0/1/2/3 instead.
Each command validates only the settings it reads (a bad ``PORT`` cannot stop
``sandbox-console``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence

from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot import __version__
from bot.cli.help import (
    COMMAND_FIELDS,
    EXIT_CONFIG,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    check_epilog,
    progress_epilog,
    run_epilog,
)
from bot.config.settings import Settings, SettingsError, load_settings
from bot.console.errors import ConsoleError
from bot.domain.images import ImageReferenceError, ScanTarget, parse_image_reference
from bot.process.logging_setup import configure_logging, print_fatal

DEMO_IMAGE = "alpine:3.16"


class SlackUnreachable(Exception):  # noqa: N818 - reads as a state
    """``auth.test`` could not reach Slack at SLACK_API_URL."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scanbot",
        description="Follow Prisma Cloud Compute registry scans from Slack and the terminal.",
    )
    parser.add_argument("--version", action="version", version=f"scanbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    run = commands.add_parser(
        "run",
        help="run the Slack bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT)",
        epilog=run_epilog(),
        formatter_class=raw,
    )
    run.add_argument("--host", default="0.0.0.0", help="HTTP bind address (default 0.0.0.0)")  # noqa: S104

    progress = commands.add_parser(
        "progress",
        help="print a scan's progress (the regular registry scan without IMAGE)",
        epilog=progress_epilog(),
        formatter_class=raw,
    )
    progress.add_argument(
        "image", nargs="*", metavar="IMAGE", help="e.g. alpine:3.16, alpine 3.16, repo@sha256:…"
    )
    progress.add_argument("--watch", action="store_true", help="redraw until the scan completes")
    progress.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds between polls with --watch (default SCANBOT_POLL_SECONDS)",
    )
    progress.add_argument(
        "--sandbox",
        action="store_true",
        help="use an embedded simulated console (no Prisma console needed) with a regular "
        "scan running, and an on-demand scan of IMAGE when given",
    )

    check = commands.add_parser(
        "check",
        help="on-call checks of the console, the regular scan and the database (Nagios codes)",
        epilog=check_epilog(),
        formatter_class=raw,
    )
    check.add_argument("--json", action="store_true", help="print one JSON document instead")
    check.add_argument(
        "--max-age-hours",
        type=float,
        default=48.0,
        help="WARNING when the last regular scan completed (or a running one started) longer "
        "ago than this (default 48)",
    )
    check.add_argument(
        "--warn-latency-ms",
        type=float,
        default=2000.0,
        help="WARNING when the console's ping takes longer than this (default 2000)",
    )
    check.add_argument("--no-database", action="store_true", help="skip the database check")

    sandbox = commands.add_parser(
        "sandbox-console",
        help="run the simulated Prisma Cloud Compute console on its own",
        description="Serve the simulated console (user 'sandbox', password "
        "'sandbox-password') until SIGTERM/SIGINT; the first line printed is its URL.",
    )
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="bind address (default 127.0.0.1, loopback only)"
    )
    sandbox.add_argument(
        "--port", type=int, default=8083, help="port (default 8083; 0 picks a free one)"
    )
    sandbox.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="IMAGE",
        help="start an on-demand scan of IMAGE at boot (repeatable)",
    )
    sandbox.add_argument("--regular", action="store_true", help="start a regular scan at boot")
    sandbox.add_argument(
        "--step-seconds",
        type=float,
        default=2.0,
        help="simulated seconds per scanned item (default 2.0)",
    )
    demo = commands.add_parser(
        "demo",
        help="watch the bot follow a scan in a simulated channel (no Slack or Prisma needed)",
        description="Start the simulated console and a local Slack stand-in, run the real bot "
        "against them, send /scanprogress as signed requests and draw the channel until the "
        "scan completes.  Exit 0 when it completed, 1 when it failed or did not complete in "
        "time.  Output that is not a terminal gets plain lines.",
    )
    demo.add_argument(
        "--fast", action="store_true", help="short scans (a few seconds; for tests and CI)"
    )
    demo.add_argument(
        "--step-seconds",
        type=float,
        default=None,
        help="simulated seconds per scanned item (default 1.0, --fast 0.3)",
    )
    demo.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="give up (exit 1) when the scan has not completed after this many seconds "
        "(default 120)",
    )
    demo.add_argument(
        "--plain", action="store_true", help="print lines instead of a live view, even on a TTY"
    )
    demo.add_argument("--verbose", action="store_true", help="show the bot's INFO logs")

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Read raw before the settings: a failure to load them is printed in the format asked.
    log_format = os.environ.get("SCANBOT_LOG_FORMAT", "text")
    try:
        settings = load_settings(only=COMMAND_FIELDS[args.command])
    except SettingsError as exc:
        if args.command == "check":
            from bot.ops.command import print_unknown  # noqa: PLC0415

            return print_unknown(str(exc), as_json=args.json)
        print_fatal(f"{exc}", log_format=log_format)
        return EXIT_CONFIG
    configure_logging(settings.scanbot_log_level, settings.scanbot_log_format)
    log_format = settings.scanbot_log_format
    try:
        if args.command == "run":
            return _run(settings, host=args.host)
        if args.command == "progress":
            return _progress(settings, args)
        if args.command == "check":
            return _check(settings, args)
        if args.command == "sandbox-console":
            return _sandbox_console(args)
        if args.command == "demo":
            return _demo(args)
    except SettingsError as exc:
        print_fatal(f"{exc}", log_format=log_format)
        return EXIT_CONFIG
    except ImageReferenceError as exc:
        print_fatal(f"{exc}", log_format=log_format)
        return EXIT_USAGE
    except ConsoleError as exc:
        print_fatal(f"{exc}\n{exc.hint}", log_format=log_format)
        return EXIT_CONFIG
    except Exception:
        # Logged, not left to Python's traceback: in the JSON format it is a JSON line too.
        logging.getLogger("scanbot").critical(
            "scanbot stopped on an unexpected error", exc_info=True
        )
        return 1  # what Python itself exits with on an uncaught exception
    return EXIT_USAGE


def _run(settings: Settings, *, host: str) -> int:
    from bot.runtime import build_runtime  # noqa: PLC0415 - the bot's imports are heavy
    from bot.server import serve  # noqa: PLC0415

    settings.require_console()
    settings.require_slack()
    try:
        _check_slack(settings)  # before the database is created or migrated
    except SlackUnreachable as exc:
        print_fatal(f"{exc}", log_format=settings.scanbot_log_format)
        return EXIT_UNAVAILABLE
    try:
        runtime = build_runtime(settings, token_verification=False)  # just verified
        serve(runtime, host=host, port=settings.port)
    except OSError as exc:  # the port taken
        print_fatal(
            f"cannot start: {exc} (PORT={settings.port})", log_format=settings.scanbot_log_format
        )
        return EXIT_CONFIG
    except SQLAlchemyError as exc:  # the database cannot be opened or migrated
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print_fatal(
            f"SCANBOT_DATABASE_URL: cannot open the database ({reason})",
            log_format=settings.scanbot_log_format,
        )
        return EXIT_CONFIG
    except SlackApiError as exc:  # Socket Mode: apps.connections.open refused
        code = exc.response.get("error", "unknown error") if exc.response else "unknown error"
        print_fatal(
            f"Slack refused the Socket Mode connection ({code}); check SLACK_APP_TOKEN "
            "(an xapp- app-level token with the connections:write scope)",
            log_format=settings.scanbot_log_format,
        )
        return EXIT_CONFIG
    return 0


def _check_slack(settings: Settings) -> None:
    """``auth.test``: raise :class:`SettingsError` for a refused token and
    :class:`SlackUnreachable` when Slack cannot be reached at SLACK_API_URL."""
    from bot.slack.app import build_web_client  # noqa: PLC0415

    client = build_web_client(settings)
    try:
        client.auth_test()
    except SlackApiError as exc:
        code = exc.response.get("error", "unknown error") if exc.response else "unknown error"
        raise SettingsError(
            f"SLACK_BOT_TOKEN was rejected by Slack ({code}); check the bot token on the Slack "
            "app's 'OAuth & Permissions' page and SLACK_API_URL"
        ) from None
    except OSError as exc:  # URLError, timeouts, refused connections
        reason = getattr(exc, "reason", None) or exc
        raise SlackUnreachable(
            f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url} ({reason}); check "
            "SLACK_API_URL, the network and any HTTPS proxy (HTTPS_PROXY)"
        ) from None


def _check(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.check import Thresholds  # noqa: PLC0415
    from bot.ops.command import run_check_command  # noqa: PLC0415

    thresholds = Thresholds(max_age_hours=args.max_age_hours, slow_ms=args.warn_latency_ms)
    return run_check_command(
        settings, thresholds=thresholds, as_json=args.json, database=not args.no_database
    )


def _progress(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.terminal import show_progress  # noqa: PLC0415
    from bot.console.client import ConsoleClient  # noqa: PLC0415

    text = " ".join(args.image).strip()
    target: ScanTarget | None = parse_image_reference(text) if text else None
    interval = args.interval if args.interval is not None else settings.scanbot_poll_seconds
    with contextlib.ExitStack() as stack:
        if args.sandbox:
            settings = stack.enter_context(_sandboxed(settings, target))
            interval = args.interval if args.interval is not None else 1.0
        client = stack.enter_context(ConsoleClient.from_settings(settings))
        return show_progress(client, target, watch=args.watch, interval=max(0.2, interval))


@contextlib.contextmanager
def _sandboxed(settings: Settings, target: ScanTarget | None) -> Iterator[Settings]:
    """Settings pointing at an embedded simulated console with a regular scan running, and
    ``target``'s on-demand scan when given (without one, progress shows the regular scan)."""
    from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig  # noqa: PLC0415

    config = SandboxConsoleConfig(step_seconds=0.5, seed_regular_scan=True)
    with SandboxConsole(config).start() as console:
        if target is not None:
            console.start_on_demand_scan(
                target.repo,
                tag=target.tag,
                digest=target.digest,
                registry=target.registry,
                discovery_total=1,
                images=8,
                when_asked=True,  # the scan starts at the client's first question: both show
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


def _demo(args: argparse.Namespace) -> int:
    import dataclasses  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from bot.demo.runner import DemoOptions, DemoTimeout, run_demo  # noqa: PLC0415

    if not args.verbose:
        configure_logging("WARNING")
    options = DemoOptions.fast() if args.fast else DemoOptions()
    if args.step_seconds is not None:
        if args.step_seconds <= 0:
            print("scanbot demo: --step-seconds must be above 0", file=sys.stderr)
            return EXIT_USAGE
        options = dataclasses.replace(options, step_seconds=args.step_seconds)
    options = dataclasses.replace(options, timeout_seconds=args.timeout)
    out = Console()
    try:
        return run_demo(options, out, live=False if args.plain else None)
    except DemoTimeout as exc:
        print(f"scanbot demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
