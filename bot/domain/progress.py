"""The progress model: what one progress answer means to a person.

From the entries of one ``GET /registry/progress`` answer, :func:`snapshot` derives the
phase, counts and percentages per step, the console's error, a one-line summary, and
:meth:`ProgressSnapshot.material` — the part whose change is worth telling a user about.
Snapshots round-trip through JSON (:meth:`to_dict` / :meth:`from_dict`) so the store can
keep the last one seen.

:func:`interpret` is the one place that gives an answer its meaning in context (an empty
answer after the scan was seen running means it completed, see :func:`completed_after_empty`);
the watcher and the terminal both go through it.  :class:`~bot.domain.steps.Step` is the one
step type that UI code uses; the console model's ``Step`` stays behind this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.domain.console_types import ProgressEntry
from bot.domain.steps import Step, as_int, as_str, cap_counts, clamp_counts
from bot.domain.text import one_line, truncate

ERROR_LIMIT = 500  # characters of console error text kept in a snapshot
TITLE_LIMIT = 300  # characters of a step title kept in a snapshot
#: What a person is told when the console's counts were absurd and had to be capped: an
#: entry's count outside ``0..MAX_ENTRY_COUNT`` (clamped by the console parser) or a summed
#: count above ``MAX_STEP_COUNT`` (see :mod:`bot.domain.steps`).
SUSPICIOUS_NOTE = "the console's answer looked wrong (absurd counts were capped)"


class Phase(StrEnum):
    DISCOVERING = "discovering"  # step 1/2: discovering tags/repositories
    SCANNING = "scanning"  # step 2/2: scanning images
    COMPLETE = "complete"  # the console reported isScanOngoing: false for the scan
    IDLE = "idle"  # no scan in progress ([] from the console)
    FAILED = "failed"  # the scan ended with an error

    @property
    def running(self) -> bool:
        """The scan is under way (:data:`RUNNING_PHASES`): more answers will follow."""
        return self in RUNNING_PHASES

    @property
    def finished(self) -> bool:
        """The scan counts as finished (:data:`FINISHED_PHASES`), with or without an error."""
        return self in FINISHED_PHASES


#: The one definition of "the scan is running": the console says it is ongoing.
RUNNING_PHASES = frozenset({Phase.DISCOVERING, Phase.SCANNING})
#: The one definition of "the scan is finished": the console said it is no longer ongoing
#: (``FAILED`` when a step reported an error).  ``IDLE`` is neither: nothing was reported.
FINISHED_PHASES = frozenset({Phase.COMPLETE, Phase.FAILED})


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    phase: Phase
    discovery: Step = field(default_factory=Step)
    image_scan: Step = field(default_factory=Step)
    error: str = ""  # the console's error text (either step), "" when none
    started_at: datetime | None = None  # specScanStartTime when the console gave one
    entries: int = 0  # how many progress entries were aggregated
    suspicious: bool = False  # counts were absurd and capped (see SUSPICIOUS_NOTE)

    @property
    def summary(self) -> str:
        """One line for a person, e.g. ``Step 2/2 scanning images: 3/10 (30%)``.

        Plain text, unescaped.  A :attr:`suspicious` snapshot ends with :data:`SUSPICIOUS_NOTE`.
        """
        if self.suspicious:
            return f"{self._phase_summary()} ({SUSPICIOUS_NOTE})"
        return self._phase_summary()

    def _phase_summary(self) -> str:
        if self.phase is Phase.DISCOVERING:
            return f"Step 1/2 discovering: {_counts(self.discovery)}"
        if self.phase is Phase.SCANNING:
            return f"Step 2/2 scanning images: {_counts(self.image_scan)}"
        if self.phase is Phase.COMPLETE:
            scanned = self.image_scan.scanned_text()
            return f"Scan complete: {scanned}" if scanned else "Scan complete: no images to scan"
        if self.phase is Phase.FAILED:
            return f"Scan failed: {self.error}" if self.error else "Scan failed"
        return "No scan in progress"

    def material(self) -> tuple[object, ...]:
        """What a user cares about: phase, counts per step, error.  Titles are excluded."""
        return (
            self.phase,
            self.discovery.total,
            self.discovery.scanned,
            self.image_scan.total,
            self.image_scan.scanned,
            self.error,
            self.suspicious,
        )

    def changed_from(self, previous: ProgressSnapshot | None) -> bool:
        """True when a user would care about the difference (always True if no previous)."""
        return previous is None or self.material() != previous.material()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form; datetimes become ISO-8601 strings in UTC."""
        return {
            "phase": self.phase.value,
            "discovery": self.discovery.to_dict(),
            "image_scan": self.image_scan.to_dict(),
            "error": self.error,
            "started_at": _utc(self.started_at).isoformat() if self.started_at else None,
            "entries": self.entries,
            "suspicious": self.suspicious,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgressSnapshot:
        """Inverse of :meth:`to_dict`, tolerant of stored shapes old and new.

        Missing or mistyped keys take their defaults; an unknown phase becomes ``IDLE``.
        """
        try:
            phase = Phase(str(data.get("phase", "")))
        except ValueError:
            phase = Phase.IDLE
        return cls(
            phase=phase,
            discovery=Step.from_dict(data.get("discovery")),
            image_scan=Step.from_dict(data.get("image_scan")),
            error=as_str(data.get("error")),
            started_at=_as_datetime(data.get("started_at")),
            entries=max(0, as_int(data.get("entries"))),
            suspicious=data.get("suspicious") is True,
        )


def interpret(
    entries: Sequence[ProgressEntry], *, saw_running: bool, last: ProgressSnapshot | None
) -> ProgressSnapshot:
    """What one progress answer means, given what was seen before: the one rule for both
    the watcher and the terminal.

    An empty answer after the scan was seen running means the scan completed (the console
    serves its once-only "finished" answer to whoever asks first, so it may have gone to
    someone else): see :func:`completed_after_empty`.  Any other answer means what
    :func:`snapshot` says.
    """
    if not entries and saw_running:
        return completed_after_empty(last)
    return snapshot(entries)


def completed_after_empty(last: ProgressSnapshot | None) -> ProgressSnapshot:
    """The final snapshot when the console answers ``[]`` after the scan was seen running.

    Every step of ``last`` is done (scanned := total); the phase is ``FAILED`` when ``last``
    carried an error, else ``COMPLETE``.  Everything else of ``last`` is kept.  Without a
    ``last`` it is a bare ``COMPLETE``.
    """
    if last is None:
        return ProgressSnapshot(phase=Phase.COMPLETE)
    return replace(
        last,
        phase=Phase.FAILED if last.error else Phase.COMPLETE,
        discovery=replace(last.discovery, scanned=last.discovery.total),
        image_scan=replace(last.image_scan, scanned=last.image_scan.total),
    )


def snapshot(entries: Sequence[ProgressEntry]) -> ProgressSnapshot:
    """Derive the snapshot of one progress answer (several entries are aggregated).

    Counts are clamped per entry and summed per step.  The snapshot is ``suspicious`` when
    the parser had to clamp an entry's count (:attr:`ProgressEntry.suspicious`) or a sum
    exceeded :data:`~bot.domain.steps.MAX_STEP_COUNT` (it is capped there).  The scan is
    ongoing when any entry says so.  While ongoing the phase is ``DISCOVERING`` until
    discovery is done, then ``SCANNING``; once not ongoing it is ``FAILED`` if a step
    reports an error, else ``COMPLETE``.  ``[]`` means ``IDLE``.  Linear in the number of
    entries.
    """
    if not entries:
        return ProgressSnapshot(phase=Phase.IDLE)
    discovery, discovery_capped = _aggregate([entry.discovery for entry in entries])
    image_scan, image_scan_capped = _aggregate([entry.image_scan for entry in entries])
    error = _join_unique([discovery.error, image_scan.error], ERROR_LIMIT)
    if any(entry.is_scan_ongoing for entry in entries):
        discovering = discovery.scanned < discovery.total or (
            discovery.total == 0 and image_scan.total == 0
        )
        phase = Phase.DISCOVERING if discovering else Phase.SCANNING
    else:
        phase = Phase.FAILED if error else Phase.COMPLETE
    # Go's zero time (the console's "unset") is already None: bot.console.models._time.
    starts = [
        _utc(entry.spec_scan_start_time)
        for entry in entries
        if entry.spec_scan_start_time is not None
    ]
    return ProgressSnapshot(
        phase=phase,
        discovery=discovery,
        image_scan=image_scan,
        error=error,
        started_at=min(starts) if starts else None,
        entries=len(entries),
        suspicious=discovery_capped
        or image_scan_capped
        or any(entry.suspicious for entry in entries),
    )


def _aggregate(steps: list[Step]) -> tuple[Step, bool]:
    """The summed step, and whether an absurd count had to be capped."""
    total = scanned = 0
    capped = False
    for step in steps:
        step_total, step_scanned, step_capped = cap_counts(*clamp_counts(step.total, step.scanned))
        total += step_total
        scanned += step_scanned
        capped = capped or step_capped
    total, scanned, sum_capped = cap_counts(total, scanned)
    view = Step(
        total=total,
        scanned=scanned,
        title=_join_unique([step.title for step in steps], TITLE_LIMIT),
        error=_join_unique([step.error for step in steps], ERROR_LIMIT),
    )
    return view, capped or sum_capped


def _counts(step: Step) -> str:
    if step.total <= 0:
        return "starting"
    return step.counts_text()


def _join_unique(texts: Iterable[str], limit: int) -> str:
    """Distinct non-blank texts in order, each on one line without hidden characters,
    joined with ``"; "``, at most ``limit`` characters.

    Linear: a dict remembers what was seen, and reading stops once the result is long
    enough to be cut.
    """
    seen: dict[str, None] = {}
    length = 0
    for text in texts:
        cleaned = one_line(text)
        if not cleaned or cleaned in seen:
            continue
        seen[cleaned] = None
        length += len(cleaned) + 2
        if length > limit + 2:
            break  # already longer than the limit: the rest would be cut away
    return truncate("; ".join(seen), limit)


def _utc(when: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _as_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _utc(datetime.fromisoformat(value))
    except ValueError:
        return None
