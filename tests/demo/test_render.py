"""Block Kit messages as terminal text (the demo's renderer): units, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from bot.demo.render import block_lines, channel_view, message_lines, mrkdwn
from bot.slack.blocks_kit import actions, button, context, fields_section, header, section
from bot.slack.mrkdwn import slack_date


def test_bold_italic_and_code_marks_become_styles_and_disappear() -> None:
    text = mrkdwn("*Status:* _now_ `alpine:3.16` scan_id")
    assert text.plain == "Status: now alpine:3.16 scan_id"
    styles = {text.plain[span.start : span.end]: str(span.style) for span in text.spans}
    assert styles == {"Status:": "bold", "now": "italic", "alpine:3.16": "cyan"}


def test_mentions_dates_links_entities_and_emoji_are_shown_readably() -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    text = mrkdwn(
        f"<@U0ALICE> since {slack_date(when)} <https://x.example|docs> &lt;b&gt; &amp; "
        ":white_check_mark: :unknown_emoji:"
    )
    assert text.plain == "@U0ALICE since 2024-05-01 12:30 UTC docs <b> & \u2705 :unknown_emoji:"


def test_escaped_user_text_is_not_turned_into_formatting_or_mentions() -> None:
    assert mrkdwn("&lt;!channel&gt; a\u2217b\u2217").plain == "<!channel> a\u2217b\u2217"


def test_header_section_fields_context_and_buttons_each_give_lines() -> None:
    assert [t.plain for t in block_lines(header("Scan progress: alpine:3.16"))] == [
        "Scan progress: alpine:3.16"
    ]
    assert [t.plain for t in block_lines(section("*Step 1/2*  1/2\n`\u2588\u2591`"))] == [
        "Step 1/2  1/2",
        "\u2588\u2591",
    ]
    assert [t.plain for t in block_lines(fields_section(["*A*\n1", "*B*\n2"]))] == [
        "A",
        "1",
        "B",
        "2",
    ]
    assert [t.plain for t in block_lines(context("one", "two"))] == ["one  two"]
    stop = actions(button("Stop watching", action_id="stop_watch", value="1"))
    assert [t.plain for t in block_lines(stop)] == ["[ Stop watching ]"]
    assert block_lines({"type": "image", "image_url": "x"}) == []


def test_a_message_without_blocks_shows_its_fallback_text_and_blank_lines_are_dropped() -> None:
    assert message_lines({"text": "*Hello*\n\nworld"}) == ["Hello", "world"]
    assert message_lines({"blocks": "not a list", "text": "fallback"}) == ["fallback"]


def test_odd_block_payloads_do_not_break_the_renderer() -> None:
    odd = {"blocks": [{"type": "section"}, {"type": "section", "text": 5}, 7, {"type": None}]}
    assert message_lines(odd) == []


def test_the_channel_view_shows_each_parent_with_its_replies_below_it() -> None:
    parent = {"ts": "1.0", "blocks": [header("Scan progress: alpine:3.16")]}
    reply = {"ts": "1.1", "blocks": [section(":white_check_mark: *Scan complete*\nin 3 s")]}
    view = channel_view("C0DEMO", [parent], {"1.0": [reply]}, notes=["hi"], status="done")
    console = Console(width=60, record=True, color_system=None)
    console.print(view)
    out = console.export_text()
    assert out.index("Scan progress: alpine:3.16") < out.index("\u21b3 \u2705 Scan complete")
    assert "    in 3 s" in out
    assert "#chan-c0demo" in out
    assert "done" in out
