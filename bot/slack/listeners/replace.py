"""A ``respond`` whose answers replace the message they answer (an ack, a button's message).

An ack such as "Looking up `alpine:3.16`…" promises nothing; the outcome takes its place
(``replace_original`` on the ``response_url``), so the user is left with one message that
says what happened, and a button that was clicked is gone with the message that held it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt import Respond
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook import WebhookResponse


class ReplacingRespond(Respond):
    """``respond`` with ``replace_original=True`` unless a call says otherwise."""

    def __init__(self, respond: Respond) -> None:
        super().__init__(response_url=respond.response_url, proxy=respond.proxy, ssl=respond.ssl)

    def __call__(  # noqa: PLR0917 - Respond's own signature
        self,
        text: str | dict[Any, Any] = "",
        blocks: Sequence[dict[Any, Any] | Block] | None = None,
        attachments: Sequence[dict[Any, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        return super().__call__(
            text,
            blocks,
            attachments,
            response_type,
            True if replace_original is None else replace_original,
            delete_original,
            unfurl_links,
            unfurl_media,
            thread_ts,
            metadata,
        )
