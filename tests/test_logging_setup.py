"""Secrets that slip into a log line are masked."""

from __future__ import annotations

import logging

import pytest

from bot.logging_setup import SecretMaskingFilter, mask_secrets


@pytest.mark.parametrize(
    "secret",
    [
        "xoxb-1234-5678-abcdefghijkl",
        "xapp-1-A0B1C2-123-abcdef",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln",
        "Basic c2FuZGJveDpzYW5kYm94",
    ],
)
def test_tokens_and_authorization_values_are_masked(secret: str) -> None:
    masked = mask_secrets(f"calling with {secret} now")
    assert secret not in masked
    assert "***" in masked


def test_ordinary_text_is_left_alone() -> None:
    text = "poll cycle: 3 watches, 2 images, alpine:3.16"
    assert mask_secrets(text) == text


def test_the_filter_masks_formatted_records() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "token=%s", ("xoxb-12345-secret",), None
    )
    SecretMaskingFilter().filter(record)
    assert "xoxb-12345-secret" not in record.getMessage()
