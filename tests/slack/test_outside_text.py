"""Text from outside (a button's value, a console error) becomes neither a scan target nor
a log line unchecked.

Before, the **Scan now** value only had to be JSON strings: a forged signed click could
name an image with a line break, a fake "Scan complete" line or a 1,502-character key,
and a log line carrying such text was split into forged lines.  These tests failed.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.process.logging_setup import build_handler
from bot.slack import blocks
from tests.support.harness import BotHarness

FORGED = {
    "line-break": {"repo": "library/alpine", "tag": "3.16\n:white_check_mark: Scan complete"},
    "fake-log-line": {"repo": "alpine\n2026-01-01 ERROR bot: forged", "tag": "1"},
    "huge-key": {"repo": "team/" + "a" * 1497, "tag": "1"},
    "space": {"repo": "library/alpine", "tag": "3.16 latest"},
}


@pytest.mark.parametrize("case", sorted(FORGED))
def test_a_forged_scan_now_value_is_refused_and_nothing_reaches_the_console(
    bot: BotHarness, case: str
) -> None:
    bot.console.clear_requests()

    response = bot.click(blocks.SCAN_NOW_ACTION, json.dumps(FORGED[case]))

    assert response.status_code == 200
    (answer,) = bot.slack.wait_for_responses(1)
    assert "That button does not name an image" in json.dumps(answer.body)
    assert [r for r in bot.console.requests if r.method == "POST"] == []
    assert bot.runtime.store.list_open() == []


def test_a_valid_scan_now_value_still_names_its_image(bot: BotHarness) -> None:
    bot.click(blocks.SCAN_NOW_ACTION, json.dumps({"repo": "library/alpine", "tag": "3.16"}))

    bot.wait_until(lambda: any(r.method == "POST" for r in bot.console.requests))


def test_a_log_message_carrying_line_breaks_stays_one_line() -> None:
    stream = io.StringIO()
    handler = build_handler("text")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logger = logging.getLogger("tests.outside_text")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("console error: %s", "boom\n2026-01-01 ERROR bot: forged\r\x1b[31m")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    written = stream.getvalue()
    assert written.count("\n") == 1
    assert "boom\\n2026-01-01 ERROR bot: forged\\r\\x1b[31m" in written
