"""The ``scanbot`` command line's arguments: every command, its options and its help."""

from __future__ import annotations

import argparse

from bot import __version__
from bot.cli.help import (
    check_epilog,
    demo_epilog,
    progress_epilog,
    run_epilog,
    sandbox_console_epilog,
)


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
    _env_file_option(run)

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
    _env_file_option(progress)
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
    _env_file_option(check)

    sandbox = commands.add_parser(
        "sandbox-console",
        help="run the simulated Prisma Cloud Compute console on its own",
        description="Serve the simulated console (user 'sandbox', password 'sandbox-password')\n"
        "until SIGTERM/SIGINT; the first line printed is its URL.",
        epilog=sandbox_console_epilog(),
        formatter_class=raw,
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
    sandbox.add_argument(
        "--result-delay",
        type=_result_delay,
        default=0.0,
        metavar="SECONDS|never",
        help="write an on-demand scan's result this long after its final progress answer, "
        "or never (the image keeps its older result); default 0",
    )
    demo = commands.add_parser(
        "demo",
        help="watch the bot follow a scan in a simulated channel (no Slack or Prisma needed)",
        description="Start the simulated console and a local Slack stand-in, run the real bot\n"
        "against them, send /scanprogress as signed requests and draw the channel until the\n"
        "scan completes.  Output that is not a terminal gets plain lines: what changed.",
        epilog=demo_epilog(),
        formatter_class=raw,
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


def _env_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="read settings from FILE's VARIABLE=value lines (e.g. scanbot.env); variables "
        "already set in the environment win over the file",
    )


def _result_delay(text: str) -> float | None:
    """``--result-delay``: seconds (>= 0) or ``never``."""
    if text.strip().lower() == "never":
        return None
    try:
        seconds = float(text)
    except ValueError:
        message = f"{text!r} is not a number of seconds or 'never'"
        raise argparse.ArgumentTypeError(message) from None
    if not seconds >= 0:
        raise argparse.ArgumentTypeError("the delay is 0 seconds or more, or 'never'")
    return seconds
