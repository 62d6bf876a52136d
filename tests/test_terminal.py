"""`scanbot progress` rendering and watching, against a scripted console (unit)."""

from __future__ import annotations

import io

from bot.cli.help import EXIT_CONFIG, EXIT_OK, EXIT_SCAN_FAILED
from bot.cli.terminal import show_progress
from bot.console.errors import ConsoleUnavailable
from bot.domain.console_types import ProgressEntry
from bot.domain.images import ScanTarget
from bot.domain.steps import Step
from tests.support.fake_console import StubConsole

ALPINE = ScanTarget(repo="library/alpine", tag="3.16")


def entry(
    d: tuple[int, int], i: tuple[int, int], *, ongoing: bool, error: str = ""
) -> ProgressEntry:
    return ProgressEntry(
        discovery=Step(total=d[0], scanned=d[1], title="Step 1/2 discovering"),
        image_scan=Step(total=i[0], scanned=i[1], title="Step 2/2 scanning", error=error),
        is_scan_ongoing=ongoing,
    )


class ScriptedConsole(StubConsole):
    def __init__(self, *answers: list[ProgressEntry] | Exception) -> None:
        self.answers = list(answers)

    def progress(self, target: ScanTarget | None = None) -> list[ProgressEntry]:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def run(
    console: ScriptedConsole, *, watch: bool, target: ScanTarget | None = ALPINE
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = show_progress(
        console, target, watch=watch, interval=0, out=out, err=err, sleep=lambda _: None
    )
    return code, out.getvalue(), err.getvalue()


def test_once_prints_both_steps_and_exits_zero() -> None:
    code, out, _ = run(ScriptedConsole([entry((1, 1), (10, 3), ongoing=True)]), watch=False)
    assert code == EXIT_OK
    assert "alpine:3.16" in out
    assert "3/10" in out
    assert "30%" in out


def test_watch_redraws_until_complete_and_skips_unchanged_answers() -> None:
    console = ScriptedConsole(
        [entry((1, 0), (0, 0), ongoing=True)],
        [entry((1, 0), (0, 0), ongoing=True)],
        [entry((1, 1), (4, 2), ongoing=True)],
        [entry((1, 1), (4, 4), ongoing=False)],
    )
    code, out, _ = run(console, watch=True)
    assert code == EXIT_OK
    assert out.count("alpine:3.16") == 3  # the repeated answer drew nothing
    assert console.answers == []


def test_watch_treats_empty_after_running_as_complete() -> None:
    console = ScriptedConsole([entry((1, 1), (4, 2), ongoing=True)], [])
    code, out, _ = run(console, watch=True)
    assert code == EXIT_OK
    assert "complete" in out.lower()


def test_no_scan_in_progress_says_how_to_start_one() -> None:
    code, out, _ = run(ScriptedConsole([]), watch=True)
    assert code == EXIT_OK
    assert "no on-demand scan in progress" in out


def test_a_failed_scan_exits_one() -> None:
    code, out, _ = run(
        ScriptedConsole([entry((1, 1), (4, 1), ongoing=False, error="pull failed")]), watch=False
    )
    assert code == EXIT_SCAN_FAILED
    assert "pull failed" in out


def test_a_console_error_exits_three_with_the_hint_on_stderr() -> None:
    code, out, err = run(
        ScriptedConsole(ConsoleUnavailable("cannot reach console.example.com")), watch=False
    )
    assert code == EXIT_CONFIG
    assert out == ""
    assert "cannot reach console.example.com" in err
    assert "PRISMA_CONSOLE_URL" in err


def test_regular_scan_without_image() -> None:
    code, out, _ = run(
        ScriptedConsole([entry((4, 2), (0, 0), ongoing=True)]), watch=False, target=None
    )
    assert code == EXIT_OK
    assert "regular registry scan" in out


def test_console_text_cannot_send_escape_sequences_to_the_terminal() -> None:
    hostile = entry((1, 1), (4, 1), ongoing=False, error="boom\x1b[2J")
    step = Step(total=1, scanned=1, title="\x1b]0;pwned\x07Step 1/2")
    answer = [ProgressEntry(discovery=step, image_scan=hostile.image_scan, is_scan_ongoing=False)]
    _, out, _ = run(ScriptedConsole(answer), watch=False)
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "Step 1/2" in out


def test_empty_after_running_shows_every_step_done_like_slack_does() -> None:
    """The rule is bot.domain.progress.interpret: the terminal reports 4/4, not the last 2/4."""
    console = ScriptedConsole([entry((1, 1), (4, 2), ongoing=True)], [])
    code, out, _ = run(console, watch=True)
    final = out.split("alpine:3.16: ")[-1]
    assert code == EXIT_OK
    assert final.startswith("Scan complete: 4/4 images scanned")
    assert "4/4 images (100%)" in final


def test_empty_after_running_with_an_error_is_a_failure() -> None:
    console = ScriptedConsole([entry((1, 1), (4, 2), ongoing=True, error="pull failed")], [])
    code, out, _ = run(console, watch=True)
    assert code == EXIT_SCAN_FAILED
    assert "Scan failed: pull failed" in out


def test_a_step_that_has_not_started_says_so_instead_of_zero_of_zero() -> None:
    _, out, _ = run(ScriptedConsole([entry((4, 2), (0, 0), ongoing=True)]), watch=False)
    image_line = next(line for line in out.splitlines() if "image scan" in line)
    assert "] not started" in image_line
    assert "0/0" not in out


def test_invisible_direction_overrides_are_removed_from_console_text() -> None:
    hostile = entry((1, 1), (4, 1), ongoing=False, error="ok\u202eliaf\u200b\u2066 done")
    _, out, _ = run(ScriptedConsole([hostile]), watch=False)
    assert "error: okliaf done" in out
    assert not any(ch in out for ch in "\u202e\u200b\u2066")


def test_absurd_counts_are_capped_and_flagged() -> None:
    huge = 2**63 - 1
    answer = [entry((1, 1), (huge, 5), ongoing=True), entry((1, 1), (huge, 5), ongoing=True)]
    _, out, _ = run(ScriptedConsole(answer), watch=False)
    assert "the console's answer looked wrong" in out
    assert str(huge) not in out
    assert "10/1000000000" in out
