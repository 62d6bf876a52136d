"""What the text after ``/scanprogress`` asks for.  Pure: no I/O, no Slack objects."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.images import (
    ImageReferenceError,
    ScanTarget,
    parse_image_reference,
    without_look_alikes,
)

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
class StartScan:
    """``scan <image>``: start the image's on-demand scan, then follow it."""

    target: ScanTarget


@dataclass(frozen=True, slots=True)
class Subscribe:
    pass


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    pass


@dataclass(frozen=True, slots=True)
class ListSubscriptions:
    pass


@dataclass(frozen=True, slots=True)
class BadInput:
    """The text could not be understood; ``message`` says what is wrong and how to fix it."""

    message: str


Command = (
    ShowHelp
    | ShowRegularScan
    | ListWatches
    | ShowStatus
    | FollowImage
    | StopWatch
    | StartScan
    | Subscribe
    | Unsubscribe
    | ListSubscriptions
    | BadInput
)
_WORDS: dict[str, Command] = {
    "subscribe": Subscribe(),
    "unsubscribe": Unsubscribe(),
    "subscriptions": ListSubscriptions(),
}


def parse_command(text: str) -> Command:
    """Map the slash command's text to one :data:`Command`; never raises."""
    text = without_look_alikes(text or "").strip()
    if len(text) > 2 and text[0] == text[-1] == "`" and "`" not in text[1:-1]:
        text = text[1:-1].strip()  # a command copied with its code span's backticks
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
    if keyword in _WORDS:
        if rest:
            return BadInput(f"`{keyword}` takes nothing after it; it applies to this channel.")
        return _WORDS[keyword]
    if keyword in ("stop", "scan"):
        if not rest:
            return BadInput(f"Say which image to {keyword}, e.g. `{keyword} alpine:3.16`.")
        try:
            target = parse_image_reference(rest)
        except ImageReferenceError as exc:
            return BadInput(str(exc))
        return StopWatch(target) if keyword == "stop" else StartScan(target)
    try:
        return FollowImage(parse_image_reference(text))
    except ImageReferenceError as exc:
        return BadInput(str(exc))
