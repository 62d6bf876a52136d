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
from sqlalchemy.exc import SQLAlchemyError

from bot.cli.help import (
    COMMAND_FIELDS,
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from bot.cli.parser import build_parser
from bot.config.envfile import read_env_file
from bot.config.settings import Settings, SettingsError, load_settings, unknown_variables
from bot.console.errors import ConsoleError
from bot.domain.images import ImageReferenceError, ScanTarget, parse_image_reference
from bot.process.logging_setup import configure_logging, print_fatal

log = logging.getLogger(__name__)
#: Commands that answer and exit: quiet logs, no retries before an error is told.
ONE_SHOT = frozenset({"progress", "check"})


def _settings(args: argparse.Namespace) -> Settings | int:
    """The settings the command reads (``--env-file`` first), or the exit code after saying
    in one line what is wrong."""
    try:
        if getattr(args, "env_file", None):
            for name, value in read_env_file(args.env_file).items():
                os.environ.setdefault(name, value)  # the real environment wins
        return load_settings(only=COMMAND_FIELDS[args.command])
    except SettingsError as exc:
        if args.command == "check":
            from bot.ops.command import print_unknown  # noqa: PLC0415

            return print_unknown(str(exc), as_json=args.json)
        print_fatal(f"{exc}", log_format=os.environ.get("SCANBOT_LOG_FORMAT", "text"))
        return EXIT_CONFIG


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args)
    if isinstance(settings, int):
        return settings
    level = settings.scanbot_log_level
    if args.command in ONE_SHOT and "scanbot_log_level" not in settings.model_fields_set:
        level = "WARNING"  # a one-shot command's answer is its output, not INFO logs
    configure_logging(level, settings.scanbot_log_format)
    for warning in unknown_variables(os.environ):
        log.warning("%s", warning)
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
    from bot.slack.startup import (  # noqa: PLC0415
        SlackUnreachable,
        socket_mode_refusal_as_setting,
        verify_bot_token,
    )

    settings.require_console()
    settings.require_slack()
    try:
        verify_bot_token(settings)  # before the database is created or migrated
    except SlackUnreachable as exc:
        print_fatal(f"{exc}", log_format=settings.scanbot_log_format)
        return EXIT_UNAVAILABLE
    unreachable = _check_console(settings)  # refused or not a console: SettingsError, exit 3
    try:
        runtime = build_runtime(settings, token_verification=False)  # just verified
        if unreachable is not None:  # start anyway; one log line, and /readyz says it
            runtime.monitor.console_reachable(False, unreachable)
        socket_mode_refusal_as_setting(lambda: serve(runtime, host=host, port=settings.port))
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
    return EXIT_OK


def _check_console(settings: Settings) -> str | None:
    """The console at start: ``None`` when it accepts us, the reason when unreachable;
    :class:`SettingsError` when the credentials are refused or it is not a console."""
    from bot.console.client import ConsoleClient  # noqa: PLC0415
    from bot.ops.startup import check_console_at_start  # noqa: PLC0415

    with ConsoleClient(settings) as probe:
        return check_console_at_start(probe)


def _check(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.check import Thresholds  # noqa: PLC0415
    from bot.ops.command import run_check_command  # noqa: PLC0415

    for option, value in (
        ("--max-age-hours", args.max_age_hours),
        ("--warn-latency-ms", args.warn_latency_ms),
    ):
        if not value > 0:  # also refuses nan
            from bot.ops.command import print_unknown  # noqa: PLC0415

            return print_unknown(f"{option} {value:g}: give a number above 0", as_json=args.json)
    thresholds = Thresholds(max_age_hours=args.max_age_hours, slow_ms=args.warn_latency_ms)
    return run_check_command(
        settings, thresholds=thresholds, as_json=args.json, database=not args.no_database
    )


def _progress(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.terminal import show_progress  # noqa: PLC0415
    from bot.console.client import ConsoleClient  # noqa: PLC0415
    from bot.ops.startup import no_retries  # noqa: PLC0415

    text = " ".join(args.image).strip()
    target: ScanTarget | None = parse_image_reference(text) if text else None
    interval = args.interval if args.interval is not None else settings.scanbot_poll_seconds
    with contextlib.ExitStack() as stack:
        if args.sandbox:
            settings = stack.enter_context(_sandboxed(settings, target))
            interval = args.interval if args.interval is not None else 1.0
        client = stack.enter_context(ConsoleClient.from_settings(settings))
        stack.enter_context(no_retries())  # an error is told at once, without retry warnings
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
        step_seconds=args.step_seconds,
        seed_on_demand=seeds,
        seed_regular_scan=args.regular,
        result_delay_seconds=args.result_delay,
    )
    if not 0 <= args.port <= 65535:
        raise SettingsError(
            f"--port {args.port}: a port is between 1 and 65535 (0 picks a free one)"
        )
    try:
        serve_forever(config, args.host, args.port)
    except OSError as exc:  # the port taken, or an address this host does not have
        reason = exc.strerror or str(exc)
        raise SettingsError(
            f"--port {args.port}: cannot listen on {args.host}:{args.port} ({reason}); "
            "choose another port (0 picks a free one)"
        ) from None
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    import dataclasses  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from bot.demo.runner import DemoOptions, DemoTimeout, run_demo  # noqa: PLC0415

    if not args.verbose:
        configure_logging("WARNING")
    options = DemoOptions.fast() if args.fast else DemoOptions()
    if args.step_seconds is not None:
        if args.step_seconds <= 0:
            print("scanbot: --step-seconds must be above 0.", file=sys.stderr)
            return EXIT_USAGE
        options = dataclasses.replace(options, step_seconds=args.step_seconds)
    options = dataclasses.replace(options, timeout_seconds=args.timeout)
    out = Console()
    try:
        return run_demo(options, out, live=False if args.plain else None)
    except DemoTimeout as exc:
        print(f"scanbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
