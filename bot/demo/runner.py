"""``scanbot demo``: the real bot on embedded defaults, its Slack channel shown in the terminal.

No Slack workspace and no Prisma console: the simulated console (:mod:`bot.sandbox.console`)
and the Slack Web API stand-in (:mod:`bot.sandbox.slack`) run on loopback; the bot runs
in this process exactly as ``scanbot run`` builds it (:func:`bot.runtime.build_runtime`,
the WSGI app of :mod:`bot.server` under waitress, its listeners, watcher, scheduler and a
SQLite store in a temporary directory).  Slash commands reach it as HTTP requests signed
as Slack signs them.  The channel is redrawn from the stand-in's messages until every
followed scan has completed.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, RenderableType
from rich.live import Live

from bot.config.settings import load_settings
from bot.demo.render import (
    FULL,
    LATEST_REPLY,
    SUMMARY,
    TIGHT,
    channel_view,
    message_lines,
    mrkdwn,
)
from bot.domain.images import parse_image_reference
from bot.runtime import Runtime, build_runtime
from bot.sandbox.console import SandboxConsole, SandboxConsoleConfig
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.signing import block_action_body, signed_headers, slash_command_body
from bot.server import BackgroundServer, build_wsgi_app
from bot.slack.blocks import SNOOZE_HOUR_ACTION

SIGNING_SECRET = "demo-signing-secret"  # noqa: S105 - a loopback-only demo secret
BOT_TOKEN = "xoxb-demo-token"  # noqa: S105 - accepted only by the local stand-in
CHANNEL = "C0DEMO"
USER = "U0DEMO"
#: Text that marks a scan as finished, in the parent's status and in the final reply.
FINAL_MARKERS = ("Scan complete", "Scan finished with an error")
FAILED_MARKER = "Scan finished with an error"
DASH = "\u2014"


@dataclass(frozen=True)
class DemoCommand:
    """One slash command the demo sends, and what the sandbox console does for it first.

    ``text`` follows ``/scanprogress``.  ``sandbox_scan``: an image whose on-demand scan the
    simulated console starts when the bot first asks about it (both steps show);
    ``regular_scan``: start the console's regular registry scan first (``regular_stall``:
    its counts then stand still for that many seconds).  ``expects_parent``: the command
    makes the bot post a message that is followed until the scan completes.
    """

    text: str
    sandbox_scan: str | None = None
    regular_scan: bool = False
    regular_stall: float = 0.0
    expects_parent: bool = True


#: What the demo types: a scan started from Slack (the bot asks the console to scan the
#: image, then follows it) and a ``quiet`` subscription of the channel to the regular
#: registry scan that pings the on-call user group (as Slack escapes it in a command's
#: text).  The regular scan stalls; the demo presses **Snooze 1 h** on the stall alert.
DEMO_COMMANDS: tuple[DemoCommand, ...] = (
    DemoCommand("scan alpine 3.16"),
    DemoCommand(
        "subscribe quiet mention=<!subteam^S0ONCALL|@oncall>", regular_scan=True, regular_stall=6.0
    ),
)
#: What the demo looks for before it presses Snooze 1 h.
STALL_MARKER = "looks stalled"


@dataclass(frozen=True)
class DemoOptions:
    """How fast the simulated scans move and how long the demo waits for them."""

    step_seconds: float = 1.0  # per scanned item: each step stays on screen ~3 s
    discovery_items: int = 3
    images: int = 3
    timeout_seconds: float = 120.0
    poll_seconds: float = 1.0  # the bot's poll interval (its minimum)
    commands: tuple[DemoCommand, ...] = DEMO_COMMANDS

    @classmethod
    def fast(cls) -> DemoOptions:
        """A few seconds end to end (tests and CI)."""
        return cls(step_seconds=0.3, discovery_items=2, images=3, timeout_seconds=60.0)


class DemoTimeout(Exception):  # noqa: N818 - reads as what happened
    """The scans did not complete in time; the message says what was seen last."""


@dataclass
class ChannelState:
    """What the channel shows now: parents, their threads, and notes only the user sees."""

    parents: list[dict[str, Any]]
    threads: dict[str, list[dict[str, Any]]]
    notes: list[str]

    def finished(self, expected_parents: int) -> bool:
        """Every expected parent shows a final state and has its final reply."""
        if len(self.parents) < expected_parents:
            return False
        return all(
            _has_marker(parent) and any(_has_marker(r) for r in self.threads.get(parent["ts"], []))
            for parent in self.parents
        )

    def failed(self) -> bool:
        return any(FAILED_MARKER in "\n".join(message_lines(p)) for p in self.parents)


def _has_marker(message: Mapping[str, Any]) -> bool:
    text = "\n".join(message_lines(message))
    return any(marker.lower() in text.lower() for marker in FINAL_MARKERS)


class PlainPrinter:
    """Output that is not a terminal: lines printed as messages appear or change."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._seen: dict[str, tuple[str, ...]] = {}

    def show(self, state: ChannelState) -> None:
        for note in state.notes:  # each note once, however the ones before it change
            plain = mrkdwn(note).plain
            self._emit(f"note:{plain}", [plain], "(only visible to you)", "")
        for parent in state.parents:
            ts = str(parent["ts"])
            self._emit(ts, message_lines(parent), "message", "updated")
            for reply in state.threads.get(ts, []):
                self._emit(f"{ts}/{reply['ts']}", message_lines(reply), "  \u21b3 reply", "")

    def _emit(self, key: str, lines: Sequence[str], label: str, changed_label: str) -> None:
        """A message when it appears; when it changes, only its lines that changed."""
        signature = tuple(lines)
        previous = self._seen.get(key)
        if previous == signature:
            return
        self._seen[key] = signature
        if previous is not None and not changed_label:
            return
        indent = "    " if label.startswith("  ") else "  "
        heading = label if previous is None else f"{label} {changed_label}: {lines[0]}"
        shown = lines if previous is None else [line for line in lines if line not in previous]
        if not shown:
            return
        self._console.print(f"[{heading.strip()}]", markup=False, highlight=False, soft_wrap=True)
        for line in shown:
            self._console.print(indent + line, markup=False, highlight=False, soft_wrap=True)


class DemoSession:
    """The running pieces: console, Slack stand-in, the bot and its HTTP server."""

    def __init__(
        self, console: SandboxConsole, slack: SlackApiStandIn, runtime: Runtime, url: str
    ) -> None:
        self.console = console
        self.slack = slack
        self.runtime = runtime
        self.url = url
        self.notes: list[str] = []
        self.snoozed = False
        #: Each command sent: the note saying so, its response_url's name, its ack.
        self._sent: list[tuple[str, str, dict[str, Any] | None]] = []
        self._http = httpx.Client(timeout=10)

    def close(self) -> None:
        self._http.close()

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Block until ``GET /healthz`` answers 200 (no command is sent before)."""
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while time.monotonic() < deadline:
            try:
                if self._http.get(f"{self.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            pause.wait(0.05)
        raise DemoTimeout(f"the bot did not answer /healthz with 200 within {timeout:.0f} s")

    def send(self, command: DemoCommand, options: DemoOptions) -> None:
        """Prepare the sandbox for ``command``, then POST it signed; note the ack."""
        if command.regular_scan:
            self.console.start_regular_scan(repositories=3, images=6)
            if command.regular_stall > 0:
                self.console.stall_regular(command.regular_stall)
        if command.sandbox_scan is not None:
            target = parse_image_reference(command.sandbox_scan)
            self.console.start_on_demand_scan(
                target.repo,
                tag=target.tag,
                digest=target.digest,
                registry=target.registry,
                discovery_total=options.discovery_items,
                images=options.images,
                when_asked=True,
            )
        name = f"cmd-{uuid.uuid4().hex[:8]}"
        body = slash_command_body(
            text=command.text,
            user_id=USER,
            channel_id=CHANNEL,
            response_url=self.slack.response_url(name),
            trigger_id=uuid.uuid4().hex,
        )
        started = time.perf_counter()
        response = self._http.post(
            f"{self.url}/slack/events", content=body, headers=signed_headers(SIGNING_SECRET, body)
        )
        took = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise DemoTimeout(
                f"/scanprogress {command.text}: the bot answered HTTP "
                f"{response.status_code}: {response.text[:200]}"
            )
        ack: dict[str, Any] | None = None
        if response.content and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            ack = response.json()
        typed = f"you typed `/scanprogress {command.text}` {DASH} acked in {took:.0f} ms"
        self._sent.append((typed, name, ack))

    def snooze_when_stalled(self, state: ChannelState) -> None:
        """Press **Snooze 1 h** on the first stall alert, once, as the user would."""
        if self.snoozed:
            return
        for replies in state.threads.values():
            for reply in replies:
                if STALL_MARKER in "\n".join(message_lines(reply)):
                    self._click(SNOOZE_HOUR_ACTION, CHANNEL, message_ts=str(reply["ts"]))
                    self.snoozed = True
                    self.notes.append("you pressed *Snooze 1 h* on the stall alert")
                    return

    def _click(self, action_id: str, value: str, *, message_ts: str) -> None:
        body = block_action_body(
            action_id=action_id,
            value=value,
            user_id=USER,
            channel_id=CHANNEL,
            message_ts=message_ts,
            response_url=self.slack.response_url(f"click-{uuid.uuid4().hex[:8]}"),
        )
        self._http.post(
            f"{self.url}/slack/events", content=body, headers=signed_headers(SIGNING_SECRET, body)
        )

    def state(self) -> ChannelState:
        parents = self.slack.messages(CHANNEL)
        threads = {str(p["ts"]): self.slack.thread(CHANNEL, str(p["ts"])) for p in parents}
        notes: list[str] = []
        for typed, name, ack in self._sent:  # what the user sees: each answer replaces the ack
            notes.append(typed)
            seen = self.slack.seen_at(name, original=ack)
            notes += [str(m.get("text", "")) for m in seen if m.get("text")]
        notes += self.notes  # what the user did besides typing (a button pressed)
        notes += [str(m.get("text", "")) for m in self.slack.ephemeral(CHANNEL)]
        return ChannelState(parents, threads, notes)


@contextmanager
def demo_session(options: DemoOptions) -> Iterator[DemoSession]:
    """Console, stand-in and the bot (started, healthy) in a temporary directory."""
    config = SandboxConsoleConfig(
        step_seconds=options.step_seconds,
        requested_scan_discovery=options.discovery_items,
        requested_scan_images=options.images,
    )
    with (
        tempfile.TemporaryDirectory(prefix="scanbot-demo-") as tmp,
        SandboxConsole(config).start() as console,
        SlackApiStandIn(token=BOT_TOKEN).start() as slack,
    ):
        settings = load_settings(
            {},
            prisma_console_url=console.url,
            prisma_user=config.user,
            prisma_password=config.password,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            scanbot_database_url=f"sqlite:///{Path(tmp) / 'scanbot.db'}",
            scanbot_poll_seconds=options.poll_seconds,
            scanbot_thread_update_seconds=3,  # progress replies at most every 3 s
            scanbot_stall_minutes=0.05,  # a regular scan standing still 3 s is stalled
        )
        runtime = build_runtime(settings)
        server = BackgroundServer(build_wsgi_app(runtime, serve_slack=True))
        session = DemoSession(console, slack, runtime, "")
        try:
            runtime.start()
            server.start()
            session.url = f"http://127.0.0.1:{server.port}"
            session.wait_healthy()
            yield session
        finally:
            session.close()
            server.stop()
            runtime.shutdown()


def run_demo(options: DemoOptions, out: Console, *, live: bool | None = None) -> int:
    """Run the demo; 0 when every scan completed, 1 when one failed or time ran out."""
    live = out.is_terminal if live is None else live
    expected = sum(c.expects_parent for c in options.commands)
    deadline = time.monotonic() + options.timeout_seconds
    pause = threading.Event()
    with demo_session(options) as session:
        for command in options.commands:
            session.send(command, options)
        printer = PlainPrinter(out)
        state = session.state()
        # Transient: once done, the live view gives way to the whole channel, printed once.
        view = None if not live else Live(console=out, refresh_per_second=8, transient=True)
        try:
            if view is not None:
                view.start()
            while True:
                state = session.state()
                session.snooze_when_stalled(state)
                done = state.finished(expected)
                status = "all scans complete" if done else "polling the simulated console\u2026"
                if view is not None:
                    view.update(fitting_view(out, state, status))
                else:
                    printer.show(state)
                if done:
                    break
                if time.monotonic() > deadline:
                    raise DemoTimeout(
                        f"the scans did not complete within {options.timeout_seconds:.0f} s "
                        f"({len(state.parents)} of {expected} messages posted)"
                    )
                pause.wait(0.2)
        finally:
            if view is not None:
                view.stop()
        if view is not None:
            status = "all scans complete" if state.finished(expected) else ""
            out.print(view_of(state, status, FULL))
    return 1 if state.failed() else 0


def view_of(state: ChannelState, status: str, detail: int) -> RenderableType:
    return channel_view(
        CHANNEL, state.parents, state.threads, notes=state.notes, status=status, detail=detail
    )


def fitting_view(out: Console, state: ChannelState, status: str) -> RenderableType:
    """The most detailed view of the channel that fits the terminal's height, so rich's
    live display never cuts a frame to "..."."""
    room = max(1, out.size.height - 1)
    view = view_of(state, status, TIGHT)
    for detail in (FULL, LATEST_REPLY, SUMMARY):
        candidate = view_of(state, status, detail)
        if len(out.render_lines(candidate, out.options, pad=False)) <= room:
            return candidate
    return view
