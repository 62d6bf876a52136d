"""Every kind of message scanbot can produce — each golden case, what a subscribed channel
hears, and the App Home — is accepted by Slack's own SDK models (``slack_sdk.models``):
each block parses into its model, validates, and renders back to exactly what was built."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack.message import SlackMessage
from tests.slack.test_blocks import CASES
from tests.slack.test_blocks_channels import CHANNEL_CASES
from tests.slack.test_blocks_home import home_sample

EVERY_MESSAGE: dict[str, Callable[[], SlackMessage]] = {**CASES, **CHANNEL_CASES}


def models_of(blocks: list[dict[str, Any]]) -> list[Block]:
    parsed = [Block.parse(block) for block in blocks]
    assert all(model is not None for model in parsed), "a block type slack_sdk does not know"
    return [model for model in parsed if model is not None]


@pytest.mark.parametrize("case", sorted(EVERY_MESSAGE))
def test_every_message_validates_with_slack_sdk_models(case: str) -> None:
    kwargs = EVERY_MESSAGE[case]().as_kwargs()
    blocks = kwargs["blocks"]
    models = models_of(blocks)
    for model in models:
        model.validate_json()  # raises SlackObjectFormationError on a bad block
    assert [model.to_dict() for model in models] == blocks
    assert kwargs["text"]


def test_the_app_home_validates_as_a_slack_sdk_home_view() -> None:
    view = home_sample()
    model = View(**view)
    model.validate_json()
    assert model.to_dict() == view
    assert len(view["blocks"]) <= 100
