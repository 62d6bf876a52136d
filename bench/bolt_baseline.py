"""The benchmark's baseline: a minimal bolt app that only acks ``/scanprogress``.

Run as ``python -m bench.bolt_baseline PORT SIGNING_SECRET SLACK_API_URL TOKEN``: the
same bolt WSGI adapter and waitress (the same options: threads, connection limit,
timeouts) as the bot, and like the bot a ``WebClient`` on the Slack stand-in (bolt's
authorization calls ``auth.test`` once), one command listener that acks and does nothing
else: the floor the bot is compared with.
"""

from __future__ import annotations

import sys

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress import serve

from bot.server import ServerLimits
from bot.slack.listeners.commands import COMMAND


def build_baseline_app(signing_secret: str, api_url: str, token: str) -> App:
    """A bolt app with one listener that acks ``/scanprogress`` at once."""
    app = App(
        client=WebClient(token=token, base_url=api_url),
        signing_secret=signing_secret,
        token_verification_enabled=False,
        process_before_response=False,
    )

    @app.command(COMMAND)
    def _ack(ack: Ack) -> None:
        ack()

    return app


def main(argv: list[str]) -> int:
    if len(argv) != 4 or not argv[0].isdigit():
        print(
            "usage: python -m bench.bolt_baseline PORT SIGNING_SECRET SLACK_API_URL TOKEN",
            file=sys.stderr,
        )
        return 2
    app = build_baseline_app(argv[1], argv[2], argv[3])
    handler = SlackRequestHandler(app, path="/slack/events")
    # waitress as the bot runs it: the same threads, connection limit, timeouts, buffers.
    serve(handler, host="127.0.0.1", port=int(argv[0]), **ServerLimits().waitress_options())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
