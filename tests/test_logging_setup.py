"""Secrets that slip into a log line are masked."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.process.logging_setup import (
    QueueDepthSummary,
    SecretMaskingFilter,
    build_handler,
    configure_logging,
    mask_secrets,
)


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


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("posting to https://hooks.slack.com/commands/T1/2/abcSECRET now", "abcSECRET"),
        ("payload {'response_url': 'https://example.test/hookSECRET'}", "hookSECRET"),
        ('{"response_url": "https://hooks.slack.com/actions/T/1/xSECRET"}', "xSECRET"),
        ("body=token%3D&response_url=https%3A%2F%2Fhooks.slack.com%2FkSECRET&x=1", "kSECRET"),
    ],
)
def test_slack_response_urls_are_redacted(text: str, leak: str) -> None:
    assert leak not in mask_secrets(text)


def emit(handler: logging.Handler, record: logging.LogRecord) -> str:
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    handler.handle(record)
    return stream.getvalue()


def test_json_format_is_one_object_per_line_with_extra_fields_and_masking() -> None:
    record = logging.LogRecord(
        "bot.watcher", logging.INFO, __file__, 1, "posted with %s", ("xoxb-1-secret",), None
    )
    record.watch_id = 7
    record.url = "https://hooks.slack.com/commands/T/1/zzSECRET"
    line = emit(build_handler("json"), record)
    assert line.count("\n") == 1
    document = json.loads(line)
    assert document["level"] == "INFO"
    assert document["logger"] == "bot.watcher"
    assert document["message"] == "posted with ***"
    assert document["watch_id"] == 7
    assert "zzSECRET" not in line
    assert {"time", "level", "logger", "message"} <= document.keys()


def test_text_format_stays_the_default() -> None:
    record = logging.LogRecord("bot", logging.WARNING, __file__, 1, "hello", None, None)
    line = emit(build_handler(), record)
    assert line.rstrip().endswith("WARNING bot: hello")


def test_bolts_unused_token_notice_is_dropped() -> None:
    notice = "As you gave `client` as well, `token` will be unused."
    record = logging.LogRecord("bot.slack.bolt", logging.WARNING, __file__, 1, notice, None, None)
    assert emit(build_handler(), record) == ""


def test_alembic_start_up_chatter_is_kept_below_info() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("info")
        assert logging.getLogger("alembic").getEffectiveLevel() == logging.WARNING
        migration = logging.getLogger("alembic.runtime.migration")
        assert migration.getEffectiveLevel() == logging.WARNING
        assert root.level == logging.INFO
    finally:
        root.handlers[:], root.level = saved[0], saved[1]


def test_waitress_queue_depth_is_said_once_a_minute_with_how_often_and_how_deep() -> None:
    """waitress warns for every request that finds its worker threads busy; through a
    burst that is a line a request.  One gets through a minute, summing up the others."""
    now = [0.0]
    summary = QueueDepthSummary(every=60.0, monotonic=lambda: now[0])

    def warning(depth: int) -> logging.LogRecord:
        return logging.LogRecord(
            "waitress.queue", logging.WARNING, "", 0, "Task queue depth is %d", (depth,), None
        )

    first = warning(1)
    assert summary.filter(first)
    assert first.getMessage() == (
        "1 HTTP request(s) waited for a free worker thread since the last notice; "
        "queue up to 1 deep"
    )
    now[0] = 10.0
    assert not any(summary.filter(warning(depth)) for depth in (3, 12, 5))
    now[0] = 61.0
    later = warning(2)
    assert summary.filter(later)
    assert later.getMessage().startswith("4 HTTP request(s) waited")
    assert later.getMessage().endswith("queue up to 12 deep")


def test_configuring_logging_twice_keeps_one_queue_depth_summary() -> None:
    configure_logging("INFO")
    configure_logging("INFO")
    queue = logging.getLogger("waitress.queue")
    assert sum(isinstance(f, QueueDepthSummary) for f in queue.filters) == 1
