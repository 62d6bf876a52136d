"""What the text after ``/scanprogress`` asks for.  Pure: no I/O, no Slack objects."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.images import (
    ImageReferenceError,
    ScanTarget,
    parse_image_reference,
    without_look_alikes,
)
from bot.domain.regular import Level

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
    """``subscribe [quiet|normal|verbose] [mention=…]``; None: not given (kept as it is).

    ``mention`` is Slack markup (``<@U…>`` or ``<!subteam^S…>``), or "" to remove it.
    """

    level: Level | None = None
    mention: str | None = None


@dataclass(frozen=True, slots=True)
class Unsnooze:
    """``unsnooze``: end this channel's snooze now."""


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
    | Unsnooze
    | ListSubscriptions
    | BadInput
)
_WORDS: dict[str, Command] = {
    "unsnooze": Unsnooze(),
    "unsubscribe": Unsubscribe(),
    "subscriptions": ListSubscriptions(),
}


#: A link Slack made of what was typed (``should_escape``): ``<http://host/x|host/x>``.
_LINK = re.compile(r"<(?:https?://|mailto:)[^<>|]*\|([^<>]*)>|<((?:https?://|mailto:)[^<>|]*)>")


def unlink(text: str) -> str:
    """The text as typed: Slack's links (a registry host looks like one) back to their label."""
    return _LINK.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)


def _as_typed(text: str | None) -> str:
    """What the user meant to type: Slack's links back to their labels, the look-alike
    characters older messages showed back to real ones, a copied code span's backticks gone."""
    text = unlink(without_look_alikes(text or "").strip())
    if len(text) > 2 and text[0] == text[-1] == "`" and "`" not in text[1:-1]:
        text = text[1:-1].strip()
    return text


def parse_command(text: str) -> Command:
    """Map the slash command's text to one :data:`Command`; never raises."""
    text = _as_typed(text)
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
    if keyword == "subscribe":
        return parse_subscribe(rest)
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


# --- subscribe [level] [mention=…] --------------------------------------------------------

#: A token, keeping Slack's escaped ``<…|label>`` together even when its label has spaces.
_TOKEN = re.compile(r"[^\s<]*<[^>]*>|\S+")
#: Slack's escaped forms as a slash command's text carries them (``should_escape: true``).
_USER = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]{0,80})?>")
_GROUP = re.compile(r"<!subteam\^(S[A-Z0-9]{2,20})(?:\|[^<>]{0,80})?>")
_SUBSCRIBE_EXAMPLE = "e.g. `/scanprogress subscribe quiet mention=@oncall-team`"


def parse_subscribe(rest: str) -> Subscribe | BadInput:
    """The options of ``subscribe``: a level and a mention, in any order, each at most once."""
    level: Level | None = None
    mention: str | None = None
    for token in _TOKEN.findall(rest):
        word = token.lower()
        if word.startswith("mention="):
            if mention is not None:
                return BadInput(f"Give `mention=` once, {_SUBSCRIBE_EXAMPLE}.")
            parsed = parse_mention(token.partition("=")[2])
            if isinstance(parsed, BadInput):
                return parsed
            mention = parsed
        elif word in {item.value for item in Level}:
            if level is not None:
                return BadInput(f"Give one level: quiet, normal or verbose, {_SUBSCRIBE_EXAMPLE}.")
            level = Level(word)
        else:
            shown = token[:40].replace("`", "'")
            return BadInput(
                f"`{shown}` is not a level or a mention. `subscribe` takes a level "
                f"(quiet, normal or verbose) and `mention=` a person or user group, "
                f"{_SUBSCRIBE_EXAMPLE}."
            )
    return Subscribe(level=level, mention=mention)


def parse_mention(text: str) -> str | BadInput:
    """``<@U…|name>`` or ``<!subteam^S…|@team>`` as Slack escapes them -> ``<@U…>`` or
    ``<!subteam^S…>``; ``none`` -> "" (nobody)."""
    if text.lower() in ("none", "nobody"):
        return ""
    user = _USER.fullmatch(text)
    if user:
        return f"<@{user.group(1)}>"
    group = _GROUP.fullmatch(text)
    if group:
        return f"<!subteam^{group.group(1)}>"
    shown = text[:40].replace("`", "'").replace("<", "").replace(">", "") or "nothing"
    return BadInput(
        f"`mention={shown}` is not a person or a user group Slack knows. Pick one from "
        "Slack's suggestions as you type `@` (a person or a user group like @oncall), or "
        f"`mention=none` to ping nobody, {_SUBSCRIBE_EXAMPLE}."
    )
