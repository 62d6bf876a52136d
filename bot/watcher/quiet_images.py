"""Images whose watches a poll cycle passes over whole, without looking at each watch.

Most of a cycle over thousands of open watches is watches that do not move: the same
watch (the kept object, :mod:`bot.watcher.open_watches`), the same console answer (the
fetcher gives the last answer object again when the console said the same), nothing to
tell.  Whether :class:`~bot.watcher.lifecycle.Quiet` leaves a watch alone depends on those
two objects and on the time followed only, and the time matters at two known readings of
the follow clock: the watch's stall and its expiry.  So once every watch of an image was
quiet with an answer, the image stays quiet while its watches and its answer are the same
objects and the follow clock is short of the first of those readings: the cycle counts its
watches as unchanged and looks at none of them.

The memory belongs to one process's poll cycle and is used by one thread at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.watch import Watch
from bot.watcher.context import Answer
from bot.watcher.open_watches import Listing


@dataclass(frozen=True, slots=True)
class _Quiet:
    watches: tuple[Watch, ...]  # the image's watches, in listing order, when it went quiet
    ids: tuple[int, ...]  # their ids
    starts: tuple[float, ...]  # the follow clock's reading when following each began
    answer: Answer  # the answer they were quiet with
    until: float  # the follow clock's reading at which one of them may stall or expire


@dataclass(frozen=True, slots=True)
class Plan:
    """What a cycle looks at: the watches (indices into the listing, in its order) of
    every image not passed over, and how many watches were passed over."""

    look_at: Sequence[int]
    passed: int


class QuietImages:
    """Per image of the kept listing: whether, and until when, its watches are quiet."""

    def __init__(self) -> None:
        self._watches: Sequence[Watch] | None = None
        self._groups: dict[str, list[int]] = {}  # image key -> indices into the listing
        self._of: list[str] = []  # index -> image key
        self._quiet: dict[str, _Quiet] = {}
        self._looked: list[str] = []  # the images the last plan looks at

    def see(self, listing: Listing) -> None:
        """Take a new ``listing`` now: what no longer holds is forgotten, and the watches
        it no longer lists are not kept alive through the cycle's console requests."""
        if listing.watches is not self._watches:
            self._regroup(listing)

    def plan(self, listing: Listing, answers: Mapping[int, Answer]) -> Plan:
        """The watches this cycle must look at, given each watch's ``answers``."""
        self.see(listing)
        look_at: list[int] = []
        self._looked = []
        passed = 0
        for key, indices in self._groups.items():
            quiet = self._quiet.get(key)
            if (
                quiet is not None
                and listing.clock < quiet.until
                and _all_answered(answers, quiet.ids, quiet.answer)
            ):
                passed += len(indices)
            else:
                look_at.extend(indices)
                self._looked.append(key)
        look_at.sort()
        return Plan(look_at, passed)

    def remember(
        self,
        listing: Listing,
        answers: Mapping[int, Answer],
        loud: set[str],
        bound: Callable[[Watch], float],
    ) -> None:
        """After a cycle over ``listing`` (the one :meth:`plan` was given, its plan looked
        at whole): every image it looked at and not ``loud`` (one of its watches was not
        left alone) is quiet with its answer, until the follow clock reaches the first
        watch's start plus its ``bound`` (:meth:`~bot.watcher.lifecycle.Quiet.bound`)."""
        if listing.watches is not self._watches:
            return
        watches = listing.watches
        for key in self._looked:
            self._quiet.pop(key, None)
            if key in loud:
                continue
            indices = self._groups[key]
            answer = answers.get(watches[indices[0]].id)
            if answer is None:
                continue
            group = tuple(watches[index] for index in indices)
            ids = tuple(watch.id for watch in group)
            if not _all_answered(answers, ids, answer):
                continue
            starts = tuple(listing.starts[index] for index in indices)
            until = min(start + bound(w) for start, w in zip(starts, group, strict=True))
            self._quiet[key] = _Quiet(group, ids, starts, answer, until)

    @property
    def remembered(self) -> int:
        """How many images are remembered quiet (for tests)."""
        return len(self._quiet)

    def image_of(self, index: int) -> str:
        """The image key of the watch at ``index`` of the listing last planned."""
        return self._of[index]

    def _regroup(self, listing: Listing) -> None:
        watches, starts = listing.watches, listing.starts
        groups: dict[str, list[int]] = {}
        of: list[str] = []
        for index, watch in enumerate(watches):
            key = watch.target.key
            of.append(key)
            group = groups.get(key)
            if group is None:
                groups[key] = [index]
            else:
                group.append(index)
        kept: dict[str, _Quiet] = {}
        for key, quiet in self._quiet.items():
            indices = groups.get(key)
            if (
                indices is not None
                and len(indices) == len(quiet.watches)
                and all(watches[i] is w for i, w in zip(indices, quiet.watches, strict=True))
                and all(starts[i] == s for i, s in zip(indices, quiet.starts, strict=True))
            ):
                kept[key] = quiet
        self._watches, self._groups, self._of, self._quiet = watches, groups, of, kept


def _all_answered(answers: Mapping[int, Answer], ids: Sequence[int], answer: Answer) -> bool:
    """Whether each of ``ids`` has ``answer`` (counted in C: identity first, else equality,
    which for these frozen answers means the same entries, error and snapshot)."""
    return list(map(answers.get, ids)).count(answer) == len(ids)
