"""Pending messages of a thread that newer ones make pointless to send.

* Only the latest pending edit of a parent matters: the older ones are superseded.
* A final reply owed (the scan completed, failed, ...) supersedes the progress replies
  (counts moved, a phase changed) still owed before it: the completion does not wait for
  news it makes stale, and the thread does not tell them after the end.
"""

from __future__ import annotations

from bot.domain.events import PhaseChanged, Progressed
from bot.domain.owed import FINAL_PRIORITY, Kind
from bot.store import codec
from bot.store.codec import CodecError
from bot.store.outbox import OutboxEntry


def superseded_edits(entries: list[OutboxEntry]) -> set[int]:
    """The pending edits older than the thread's latest pending edit."""
    edits = [entry for entry in entries if entry.kind is Kind.EDIT]
    return {entry.id for entry in edits[:-1]}


def progress_before_final(entries: list[OutboxEntry]) -> set[int]:
    """Progress replies owed before the thread's final reply (decoded only when one is owed)."""
    finals = [
        entry.id
        for entry in entries
        if entry.kind is Kind.REPLY and entry.priority == FINAL_PRIORITY
    ]
    if not finals:
        return set()
    outdated: set[int] = set()
    for entry in entries:
        if entry.kind is not Kind.REPLY or entry.id >= finals[0]:
            continue
        try:
            event = codec.load_event(entry.body)
        except CodecError:
            continue  # dropped, with a log line, when its turn comes
        if isinstance(event, (Progressed, PhaseChanged)):
            outdated.add(entry.id)
    return outdated
