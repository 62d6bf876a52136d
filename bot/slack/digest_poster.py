"""Posts the on-call digest to a channel with the WebClient (not through the outbox)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.slack.blocks_digest import digest_message
from bot.slack.notifier import delivery_errors
from bot.watcher.digest import Digest


class SlackDigestPoster:
    """:class:`bot.watcher.digest.DigestPoster` over ``chat.postMessage``."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post_digest(self, channel_id: str, digest: Digest) -> None:
        with delivery_errors():
            self._client.chat_postMessage(
                channel=channel_id, unfurl_links=False, **digest_message(digest).as_kwargs()
            )
