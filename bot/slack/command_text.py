"""What the text after ``/scanprogress`` asks for.  Pure: no I/O, no Slack objects."""

from __future__ import annotations

from dataclasses import dataclass

from bot.images import ImageReferenceError, ScanTarget, parse_image_reference

MAX_COMMAND_TEXT = 1000


@dataclass(frozen=True, slots=True)
class ShowHelp:
    pass


@dataclass(frozen=True, slots=True)
class ShowRegularScan:
    pass


@dataclass(frozen=True, slots=True)
class ListWatches:
    pass


@dataclass(frozen=True, slots=True)
class ShowStatus:
    """``status``: the on-call checks, shown only to the one who asked."""


@dataclass(frozen=True, slots=True)
class FollowImage:
    target: ScanTarget


@dataclass(frozen=True, slots=True)
class StopWatch:
    target: ScanTarget


@dataclass(frozen=True, slots=True)
class BadInput:
    """The text could not be understood; ``message`` says what is wrong and how to fix it."""

    message: str


Command = ShowHelp | ShowRegularScan | ListWatches | ShowStatus | FollowImage | StopWatch | BadInput


def parse_command(text: str) -> Command:
    """Map the slash command's text to one :data:`Command`; never raises."""
    text = (text or "").strip()
    if len(text) > MAX_COMMAND_TEXT:
        return BadInput(f"That is {len(text)} characters; an image reference is much shorter.")
    if not text:
        return ShowRegularScan()
    word, _, rest = text.partition(" ")
    keyword = word.lower()
    rest = rest.strip()
    if keyword in ("help", "-h", "--help", "?"):
        return ShowHelp()
    if keyword in ("list", "ls") and not rest:
        return ListWatches()
    if keyword == "status" and not rest:
        return ShowStatus()
    if keyword == "stop":
        if not rest:
            return BadInput("Say which image to stop following, e.g. `stop alpine:3.16`.")
        try:
            return StopWatch(parse_image_reference(rest))
        except ImageReferenceError as exc:
            return BadInput(str(exc))
    try:
        return FollowImage(parse_image_reference(text))
    except ImageReferenceError as exc:
        return BadInput(str(exc))
