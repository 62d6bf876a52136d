"""bot.domain.registries: which registries a regular scan is busy with (untrusted titles)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.console_types import ProgressEntry
from bot.domain.progress import Phase, ProgressSnapshot, snapshot
from bot.domain.registries import MAX_NAME, MAX_NAMES, busy_registries, registry_lines
from bot.domain.steps import Step

DISCOVERY_TITLE = "Step 1/2 discovering tags in registries {names}: Discovered 3 of 10 repositories"
SCAN_TITLE = "Step 2/2 scanning images in registries {names}: Scanned 4 of 20 images"


def snap(phase: Phase, *, discovery: str = "", image_scan: str = "") -> ProgressSnapshot:
    return ProgressSnapshot(
        phase=phase,
        discovery=Step(total=10, scanned=3, title=discovery),
        image_scan=Step(total=20, scanned=4, title=image_scan),
    )


# --- busy_registries --------------------------------------------------------------------


def test_one_registry_is_named_after_in_registry() -> None:
    title = "Step 1/2 discovering tags in registry a.example: Discovered 1 of 2"
    assert busy_registries(title) == ("a.example",)


def test_several_registries_are_named_in_order() -> None:
    title = DISCOVERY_TITLE.format(names="a.example, b.example,c.example")
    assert busy_registries(title) == ("a.example", "b.example", "c.example")


def test_a_title_without_registries_names_none() -> None:
    assert busy_registries("Step 2/2 scanning images: Scanned 4 of 20") == ()
    assert busy_registries("") == ()


def test_registries_without_the_closing_colon_are_not_named() -> None:
    assert busy_registries("Step 1/2 discovering tags in registries a.example, b.example") == ()


def test_blank_names_and_repeats_are_left_out() -> None:
    title = "in registries a.example, , a.example,,b.example: x"
    assert busy_registries(title) == ("a.example", "b.example")


def test_names_from_several_joined_titles_are_merged_without_repeats() -> None:
    """A snapshot joins the titles of several progress entries with "; "."""
    title = "in registry a.example: x; in registries b.example, a.example: y"
    assert busy_registries(title) == ("a.example", "b.example")


def test_at_most_max_names_registries_are_named() -> None:
    names = ", ".join(f"r{i}.example" for i in range(MAX_NAMES + 5))
    named = busy_registries(DISCOVERY_TITLE.format(names=names))
    assert named == tuple(f"r{i}.example" for i in range(MAX_NAMES))


def test_a_long_name_is_cut_to_max_name_characters() -> None:
    named = busy_registries(DISCOVERY_TITLE.format(names="x" * (MAX_NAME * 3)))
    assert named == ("x" * MAX_NAME,)


def test_a_huge_title_without_a_colon_names_nothing() -> None:
    assert busy_registries("in registries " + "a," * 50_000) == ()


def test_hostile_text_is_kept_literally_as_a_name_not_interpreted() -> None:
    """Escaping for Slack is the renderer's job: here markup stays plain text."""
    title = "in registries <!channel>, *bold* `code`: x"
    assert busy_registries(title) == ("<!channel>", "*bold* `code`")


@given(st.text(max_size=2_000))
def test_any_title_gives_a_bounded_tuple_of_non_blank_names(title: str) -> None:
    named = busy_registries(title)
    assert len(named) <= MAX_NAMES
    assert len(set(named)) == len(named)
    for name in named:
        assert name.strip()
        assert len(name) <= MAX_NAME
        assert not set(name) & set(":;,")


# --- registry_lines ---------------------------------------------------------------------


def test_while_discovering_each_registry_says_what_it_is_doing() -> None:
    """Discovery names the registries still discovering; the image step names the others."""
    value = snap(
        Phase.DISCOVERING,
        discovery=DISCOVERY_TITLE.format(names="a.example"),
        image_scan=SCAN_TITLE.format(names="a.example, b.example"),
    )
    assert registry_lines(value) == ["a.example: discovering tags", "b.example: scanning images"]


def test_once_discovery_is_done_only_the_image_step_counts() -> None:
    value = snap(
        Phase.SCANNING,
        discovery=DISCOVERY_TITLE.format(names="a.example, c.example"),
        image_scan=SCAN_TITLE.format(names="a.example, b.example"),
    )
    assert registry_lines(value) == ["a.example: scanning images", "b.example: scanning images"]


def test_a_single_registry_gets_no_lines() -> None:
    value = snap(Phase.SCANNING, image_scan=SCAN_TITLE.format(names="a.example"))
    assert registry_lines(value) == []


def test_titles_without_registries_get_no_lines() -> None:
    value = snap(Phase.DISCOVERING, discovery="Step 1/2", image_scan="Step 2/2")
    assert registry_lines(value) == []


def test_a_finished_or_idle_scan_gets_no_lines() -> None:
    titles = {"image_scan": SCAN_TITLE.format(names="a.example, b.example")}
    for phase in (Phase.COMPLETE, Phase.FAILED, Phase.IDLE):
        assert registry_lines(snap(phase, **titles)) == []


def test_lines_come_from_the_titles_of_every_progress_entry() -> None:
    """Two progress entries, one per registry: the snapshot joins their titles."""
    entries = [
        ProgressEntry(
            discovery=Step(total=1, scanned=1),
            image_scan=Step(total=5, scanned=1, title=SCAN_TITLE.format(names=name)),
            is_scan_ongoing=True,
        )
        for name in ("a.example", "b.example")
    ]
    value = snapshot(entries)
    assert value.phase is Phase.SCANNING
    assert registry_lines(value) == ["a.example: scanning images", "b.example: scanning images"]


def test_line_breaks_in_console_titles_never_split_a_line() -> None:
    """Titles are made one line when the snapshot is taken, so each line stays one line."""
    entry = ProgressEntry(
        discovery=Step(total=1, scanned=1),
        image_scan=Step(total=5, scanned=1, title="in registries a.example,\nb\n.example: x"),
        is_scan_ongoing=True,
    )
    lines = registry_lines(snapshot([entry]))
    assert lines == ["a.example: scanning images", "b .example: scanning images"]
    assert all("\n" not in line for line in lines)
