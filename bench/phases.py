"""Phases of ``python -m bench``: follows at once, acks while Slack or the console fail, and
many watches of one channel changing in one cycle.

The sender posts about one message per second per channel, so a channel whose watches all
move at once falls behind: a parent edit owed while an older one still waits replaces it
(only the latest state is sent), and threads with a completion go before the others.  The
figures come from the bot's outbox (its SQLite database, read after the scans completed):
edits owed, sent and superseded, and how long completions and other replies waited.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from typing import Any

import sqlalchemy as sa

from bench import tools
from bot.domain.owed import FINAL_PRIORITY
from bot.sandbox.console import SandboxConsole
from bot.sandbox.slack.api import SlackApiStandIn
from bot.store.tables import outbox, threads

CHANNEL = "CBUSYCHANNEL"


def busy_channel(
    watches: int,
    console: SandboxConsole,
    slack: SlackApiStandIn,
    *,
    url: str,
    secret: str,
    db: str,
    step: float,
) -> dict[str, Any]:
    """Follow ``watches`` scans from one channel (1 discovery item, 3 images, ``step``
    seconds a step: 2 s in the full run, so every watch changes in every poll cycle); the
    outbox's figures once all end."""
    retries = 0
    for i in range(watches):
        console.start_on_demand_scan(
            f"bench/busy{i}",
            tag="1.0",
            discovery_total=1,
            images=3,
            step_seconds=step,
            when_asked=True,
        )
        retries += _follow_one(slack, f"{url}/slack/events", secret, f"bench/busy{i}:1.0")

    def completed() -> bool:
        parents = slack.messages(CHANNEL)
        done = sum(
            any("complete" in json.dumps(r).lower() for r in slack.thread(CHANNEL, p["ts"]))
            for p in parents
        )
        return done >= watches

    deadline = time.monotonic() + 60 + 8 * watches
    pause = threading.Event()
    while not completed() and time.monotonic() < deadline:
        pause.wait(0.2)
    figures = {"watches": watches, "completed": completed(), "follows_sent_again": retries}
    return {**figures, **_outbox_figures(db)}


def _follow_one(slack: SlackApiStandIn, events: str, secret: str, text: str) -> int:
    """Follow ``text`` in the busy channel; sent again (3 s apart, up to 5 times) while it is
    answered with an error instead of a parent.  Returns how many times it was sent again."""
    for attempt in range(6):
        before = len(slack.messages(CHANNEL))
        hook = f"busy-{text.replace('/', '-').replace(':', '-')}-{attempt}"
        hook_url = slack.response_url(hook)
        tools.command_burst(events, secret, [(CHANNEL, text)], concurrency=1, response_url=hook_url)
        tools.wait_until(
            lambda: len(slack.messages(CHANNEL)) > before or bool(slack.responses_to(hook)),  # noqa: B023
            timeout=30,
        )
        if len(slack.messages(CHANNEL)) > before:
            return attempt
        threading.Event().wait(3.0)
    return 6


def _outbox_figures(db: str) -> dict[str, Any]:
    engine = sa.create_engine(db)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(
                    outbox.c.kind,
                    outbox.c.state,
                    outbox.c.priority,
                    outbox.c.created_at,
                    outbox.c.sent_at,
                    outbox.c.last_error,
                )
                .join(threads, threads.c.key == outbox.c.thread_key)
                .where(threads.c.channel_id == CHANNEL)
            ).all()
    finally:
        engine.dispose()
    edits = [r for r in rows if r.kind == "edit"]
    replies = [r for r in rows if r.kind == "reply" and r.sent_at is not None]

    def wait(selected: list[Any]) -> float:
        waits = [(r.sent_at - r.created_at).total_seconds() for r in selected]
        return round(statistics.mean(waits), 2) if waits else 0.0

    return {
        "edits_owed": len(edits),
        "edits_sent": sum(r.state == "sent" for r in edits),
        "edits_superseded": sum("superseded" in (r.last_error or "") for r in edits),
        "replies_sent": len(replies),
        "final_wait_seconds": wait([r for r in replies if r.priority == FINAL_PRIORITY]),
        "reply_wait_seconds": wait([r for r in replies if r.priority != FINAL_PRIORITY]),
    }


def follow_outcomes(slack: SlackApiStandIn, follows: int, hook: str) -> dict[str, int]:
    """Wait until each follow got its parent posted or an answer at its response_url (an
    error said to the user); how many of each."""

    def counts() -> tuple[int, int]:
        return len(slack.calls_to("chat.postMessage")), len(slack.responses_to(hook))

    tools.wait_until(lambda: sum(counts()) >= follows, timeout=300)
    parents, answers = counts()
    return {"follows": follows, "parents_posted": parents, "answered_at_response_url": answers}


def bursts(
    console: SandboxConsole,
    slack: SlackApiStandIn,
    *,
    url: str,
    baseline_url: str,
    secret: str,
    burst: int,
    rounds: int,
    degraded: int,
    hang_seconds: float,
) -> dict[str, Any]:
    """Follows all at once from as many channels, beside the minimal bolt app; then help and
    follows while every Slack call is answered 429, and while the console hangs (only the
    bot: the baseline calls neither Slack nor the console)."""
    events = f"{url}/slack/events"
    figures: dict[str, Any] = {}

    def follows(prefix: str, count: int) -> list[tuple[str, str]]:
        texts = []
        for i in range(count):
            console.start_on_demand_scan(f"bench/{prefix}{i}", tag="1.0", images=1000)
            texts.append((f"C{prefix.upper()}{i:05d}", f"bench/{prefix}{i}:1.0"))
        return texts

    slack.clear()
    figures["follow_burst"], figures["follow_burst_bolt"] = _at_once(
        slack,
        [follows(f"burst{r}x", burst) for r in range(rounds)],
        events=events,
        baseline_events=f"{baseline_url}/slack/events",
        secret=secret,
    )
    for name in ("chat.postMessage", "chat.update", "conversations.replies"):
        slack.rate_limit_next(name, count=10**6)
    figures["slack_429"] = _degraded(secret, degraded, events, follows("limited", degraded), slack)
    slack.clear()
    console.inject_fault(
        "delay", count=10**6, delay_seconds=hang_seconds, path_contains="/registry"
    )
    try:
        hung = follows("hung", degraded)
        figures["console_hanging"] = _degraded(secret, degraded, events, hung, slack)
    finally:
        console.clear_faults()
    return figures


def _at_once(
    slack: SlackApiStandIn,
    rounds: list[list[tuple[str, str]]],
    *,
    events: str,
    baseline_events: str,
    secret: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each round's follows all at once, to the bot and to the bolt app (who goes first
    alternating, as in the ack phase); after the bot's, the next burst waits until each got
    its parent posted.  Each side's samples pooled."""
    hook = "burst"
    respond = slack.response_url(hook)
    pooled: dict[str, list[float]] = {"scanbot": [], "minimal_bolt": []}
    round_p99: dict[str, list[float]] = {"scanbot": [], "minimal_bolt": []}
    targets = {"scanbot": events, "minimal_bolt": baseline_events}
    burst = len(rounds[0])
    for r, texts in enumerate(rounds):
        for who in ("scanbot", "minimal_bolt") if r % 2 == 0 else ("minimal_bolt", "scanbot"):
            samples = tools.command_burst_process(
                targets[who], secret, texts, concurrency=burst, response_url=respond
            )
            pooled[who].extend(samples)
            round_p99[who].append(tools.summary_ms(samples)["p99"])
            if who == "scanbot":
                follow_outcomes(slack, burst * (r + 1), hook)
    bot: dict[str, Any] = dict(tools.summary_ms(pooled["scanbot"]))
    bot.update(concurrency=burst, round_p99=round_p99["scanbot"])
    bot.update(follow_outcomes(slack, burst * len(rounds), hook))
    bolt: dict[str, Any] = dict(tools.summary_ms(pooled["minimal_bolt"]))
    bolt.update(concurrency=burst, round_p99=round_p99["minimal_bolt"])
    return bot, bolt


def _degraded(
    secret: str,
    count: int,
    events: str,
    follows: list[tuple[str, str]],
    slack: SlackApiStandIn,
) -> dict[str, Any]:
    respond = slack.response_url("degraded")
    helps = [("CHELP", "help")] * count
    return {
        kind: tools.summary_ms(
            tools.command_burst(events, secret, texts, concurrency=20, response_url=respond)
        )
        for kind, texts in (("help", helps), ("follow", follows))
    }
