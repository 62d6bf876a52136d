"""The last progress answer of each image, parsed: the same bytes are not parsed twice.

A poll cycle asks for every followed image, and between two cycles most answers are the
very bytes of the previous one.  :class:`ProgressMemo` keeps, per image, the body of its
last answer and the entries parsed from it; an answer equal to the kept body returns the
kept entries (immutable :class:`~bot.domain.console_types.ProgressEntry` objects, in a new
list) without decoding JSON again.  The same objects coming back also let the poll cycle
reuse what it computed from them (:class:`bot.watcher.fetcher.ConsoleFetcher`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.domain.console_types import ProgressEntry

#: Images whose last answer is kept (one per image followed); past it the memo starts over.
MEMO_SIZE = 10_000


class ProgressMemo:
    """Per image key: the last answer's body and its entries (thread-safe)."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self._size = size
        self._kept: dict[str, tuple[bytes, tuple[ProgressEntry, ...]]] = {}
        self._lock = threading.Lock()

    def parse(
        self, key: str, body: bytes, parse: Callable[[], list[ProgressEntry]]
    ) -> list[ProgressEntry]:
        """The entries of ``body``: kept ones when it is the last body of ``key``, else
        ``parse()`` (whose errors are raised, and nothing kept)."""
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == body:
            return list(kept[1])
        entries = parse()
        with self._lock:
            if len(self._kept) >= self._size and key not in self._kept:
                self._kept.clear()  # a bound, not an LRU: the next cycle fills it again
            self._kept[key] = (body, tuple(entries))
        return entries
