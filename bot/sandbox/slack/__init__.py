"""The Slack Web API stand-in (see :mod:`bot.sandbox.slack.api`).

``workspace`` the in-memory channels and messages, ``faults`` what it can be told to
answer instead, ``signing`` requests signed the way Slack signs them.
"""

from bot.sandbox.slack.api import RecordedCall, RecordedResponse, SlackApiStandIn

__all__ = ["RecordedCall", "RecordedResponse", "SlackApiStandIn"]
