"""Everything the simulated console knows: scans, results, registry scan status.

Pure state driven by an injectable clock (no HTTP, no threads of its own);
:mod:`bot.sandbox.console.server` serves it.  Results outlive their scans: an image keeps
its previous result (a seeded one too) until a new scan of it finishes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.console.images import ImageRef, ResultQuery, ResultRecord, iso, scan_result
from bot.sandbox.console.scans import (
    DEFAULT_REGISTRY,
    MAX_PARALLEL_REGISTRIES,
    ZERO_TIME,
    OnDemandScan,
    RegularScan,
    Timeline,
)


class ScanSimulator:
    """All scans and results of one simulated console.  Thread-safe (one lock)."""

    def __init__(
        self,
        clock: Callable[[], float],
        default_step: float,
        *,
        previous_regular_age: float | None = None,
        result_delay: float | None = 0.0,
    ) -> None:
        self._clock = clock
        self._result_delay = result_delay
        self._clock0 = clock()
        self._epoch0 = float(int(datetime.now(UTC).timestamp()))
        #: When the last regular scan before this console started completed (epoch seconds).
        self._previous_regular_epoch = (
            None if previous_regular_age is None else self._epoch0 - previous_regular_age
        )
        self._default_step = default_step
        self._lock = threading.RLock()
        self._on_demand: dict[ImageRef, OnDemandScan] = {}
        self._regular: dict[str, RegularScan] = {}
        self._results: dict[ImageRef, ResultRecord] = {}
        self._status_errors: list[str] = []

    def epoch(self, at: float | None = None) -> float:
        """Epoch seconds of clock time ``at`` (default: now); integral on a manual clock."""
        return self._epoch0 + ((self._clock() if at is None else at) - self._clock0)

    def _timeline(
        self, now: float | None, step: float | None, discovery: int, images: int, fail: str
    ) -> Timeline:
        return Timeline(now, self._default_step if step is None else step, discovery, images, fail)

    # --- on-demand scans ------------------------------------------------------------
    def start_on_demand(
        self,
        ref: ImageRef,
        *,
        discovery_total: int = 1,
        images: int = 1,
        step_seconds: float | None = None,
        fail_with: str | None = None,
        restart: bool = True,
        when_asked: bool = False,
    ) -> bool:
        """Start a scan of ``ref`` (``restart=False`` keeps an ongoing one); True if started.

        ``when_asked``: the scan's clock starts at the first progress request for ``ref``.
        """
        if discovery_total < 0 or images < 0:
            raise ValueError("discovery_total and images must be >= 0")
        with self._lock:
            now = self._clock()
            self._harvest(now)
            current = self._on_demand.get(ref)
            if not restart and current is not None and current.timeline.ongoing(now):
                return False
            start = None if when_asked else now
            timeline = self._timeline(start, step_seconds, discovery_total, images, fail_with or "")
            self._on_demand[ref] = OnDemandScan(ref, timeline)
            return True

    def on_demand_progress(self, ref: ImageRef) -> list[dict[str, Any]]:
        """The progress list for ``ref``: ongoing, then the final entry once, then ``[]``."""
        with self._lock:
            now = self._clock()
            scan = self._on_demand.get(ref)
            if scan is not None:
                scan.timeline.begin(now)
            # No harvest here: it visits every scan, and a poll cycle asks about each image.
            # Results are harvested before they are read and before a scan is replaced; a
            # finished scan's record depends on its timeline, not on when it is harvested.
            if scan is None or scan.consumed:
                return []
            entry = scan.entry(now)
            if not entry["isScanOngoing"]:
                scan.consumed = True
                scan.answered_at = now
            return [entry]

    def set_result_delay(self, seconds: float | None) -> None:
        """On-demand results are written ``seconds`` after the final progress answer
        (0: as the scan ends); None: never written (the image keeps its older result)."""
        if seconds is not None and seconds < 0:
            raise ValueError("a result delay is >= 0 seconds, or None for never")
        with self._lock:
            self._result_delay = seconds

    # --- regular scans --------------------------------------------------------------
    def start_regular(
        self,
        *,
        registries: Sequence[str] = (DEFAULT_REGISTRY,),
        repositories: int = 4,
        images: int = 12,
        step_seconds: float | None = None,
        fail_with: str | None = None,
    ) -> None:
        """Start (or restart) the regular scan of 1 to 4 registries scanning in parallel."""
        names = tuple(dict.fromkeys(registries))
        if not 1 <= len(names) <= MAX_PARALLEL_REGISTRIES or not all(names):
            raise ValueError(f"1 to {MAX_PARALLEL_REGISTRIES} registry names, none empty")
        if repositories < 1 or images < 0:
            raise ValueError("repositories must be >= 1 and images >= 0")
        with self._lock:
            now = self._clock()
            self._harvest(now)
            timelines = tuple(
                self._timeline(now, step_seconds, repositories, images, fail_with or "")
                for _ in names
            )
            scan = RegularScan(names, repositories, timelines, self.epoch(now), [0] * len(names))
            for key in [k for k, s in self._regular.items() if set(s.registries) & set(names)]:
                del self._regular[key]
            self._regular[scan.key] = scan

    def restart_regular(self, registry: str | None) -> None:
        """What ``POST /registry/scan`` does: rescan ``registry``, or every known registry."""
        with self._lock:
            scans = [
                s for s in self._regular.values() if registry is None or registry in s.registries
            ]
            if not scans:
                self.start_regular(registries=(registry or DEFAULT_REGISTRY,))
            for old in scans:
                first = old.timelines[0]
                self.start_regular(
                    registries=old.registries,
                    repositories=old.repositories,
                    images=first.images,
                    step_seconds=first.step,
                    fail_with=first.fail_with,
                )

    def stop_regular(self) -> None:
        """``POST /registry/stop``: freeze every ongoing regular scan where it is."""
        with self._lock:
            now = self._clock()
            self._harvest(now)
            for scan in self._regular.values():
                for timeline in scan.timelines:
                    if timeline.ongoing(now):
                        timeline.stopped_at = now

    def regular_progress(self) -> list[dict[str, Any]]:
        """One entry per regular scan; finished ones keep being served, isScanOngoing false."""
        with self._lock:
            now = self._clock()
            self._harvest(now)
            return [scan.entry(now) for _, scan in sorted(self._regular.items())]

    # --- stalls and errors ----------------------------------------------------------
    def _timelines(self, image: ImageRef | None) -> list[Timeline]:
        if image is not None:
            scan = self._on_demand.get(image)
            if scan is None:
                raise ValueError(f"no on-demand scan of {image.key} was started")
            return [scan.timeline]
        return [s.timeline for s in self._on_demand.values()] + [
            t for s in self._regular.values() for t in s.timelines
        ]

    def stall(self, seconds: float, image: ImageRef | None) -> None:
        """Ongoing scans (or ``image``'s) stop moving for ``seconds``, then resume."""
        if seconds <= 0:
            raise ValueError("a stall lasts more than 0 seconds")
        with self._lock:
            now = self._clock()
            for timeline in self._timelines(image):
                if timeline.ongoing(now):
                    timeline.begin(now)
                    timeline.stall(now, seconds)

    def stall_regular(self, seconds: float) -> None:
        """Only the regular scan stops moving for ``seconds``, then resumes."""
        if seconds <= 0:
            raise ValueError("a stall lasts more than 0 seconds")
        with self._lock:
            now = self._clock()
            for scan in self._regular.values():
                for timeline in scan.timelines:
                    if timeline.ongoing(now):
                        timeline.stall(now, seconds)

    def set_step_error(self, message: str, image: ImageRef | None) -> None:
        """The current step of ongoing scans (or ``image``'s) reports ``message`` ("" clears)."""
        with self._lock:
            for timeline in self._timelines(image):
                timeline.step_error = message

    def add_status_error(self, message: str) -> None:
        with self._lock:
            self._status_errors.append(message)

    def clear_status_errors(self) -> None:
        with self._lock:
            self._status_errors.clear()

    def registry_status(self) -> dict[str, Any]:
        """``GET /statuses/registry``: a ``defender.ScanStatus`` of the regular scans."""
        with self._lock:
            now = self._clock()
            self._harvest(now)
            scanning = any(s.ongoing(now) for s in self._regular.values())
            ended = [
                (t.finish_time(t.end), t)
                for s in self._regular.values()
                for t in s.timelines
                if t.start is not None and not t.ongoing(now) and t.stopped_at is None
            ]
            last = max(ended, key=lambda pair: pair[0], default=None)
            scan_errors = [t.fail_with for s in self._regular.values() for t in s.timelines]
            errors = list(dict.fromkeys([*self._status_errors, *filter(None, scan_errors)]))
            if last is not None:
                completed, scan_time = not last[1].fail_with, iso(self.epoch(last[0]))
            elif self._previous_regular_epoch is not None:
                completed, scan_time = True, iso(self._previous_regular_epoch)
            else:
                completed, scan_time = False, ZERO_TIME
            return {
                "completed": completed and not scanning,
                "errors": errors,
                "hostname": "sandbox-defender",
                "scanTime": scan_time,
                "scanning": scanning,
                "selective": False,
            }

    # --- everything -----------------------------------------------------------------
    def finish_all(self) -> None:
        """Jump every scan to its end (a failing one to its failure)."""
        with self._lock:
            now = self._clock()
            for timeline in self._timelines(None):
                timeline.begin(now)
                timeline.finished = True
            self._harvest(now)

    def seed_result(self, ref: ImageRef, scanned_epoch: float) -> None:
        """Give ``ref`` a result scanned at ``scanned_epoch``, as if from an older scan."""
        with self._lock:
            self._results[ref] = ResultRecord(ref, scan_result(ref, scanned_epoch))

    def results(self, query: ResultQuery) -> tuple[list[dict[str, Any]], int]:
        """(page of results, total matching) for ``GET /registry``."""
        with self._lock:
            self._harvest(self._clock())
            matching = query.order([r for r in self._results.values() if r.matches(query)])
            page = matching[query.offset : query.offset + query.limit]
            return [query.present(r.body) for r in page], len(matching)

    def _result_written(self, scan: OnDemandScan, now: float) -> bool:
        """Whether the finished ``scan``'s result is in ``GET /registry`` by ``now``."""
        delay = self._result_delay
        if delay is None:
            return False
        if delay == 0:
            return True
        answered = scan.answered_at
        if answered is None:  # nobody was told it finished: counted from its end
            answered = scan.timeline.finish_time(scan.timeline.end)
        return now >= answered + delay

    def _harvest(self, now: float) -> None:
        """Copy newly completed images into the results (they outlive their scans)."""
        for scan in self._on_demand.values():
            timeline = scan.timeline
            if scan.harvested or timeline.start is None or timeline.ongoing(now):
                continue
            if not self._result_written(scan, now):
                continue
            scan.harvested = True
            d_err, i_err = timeline.errors(now)
            at = self.epoch(timeline.finish_time(timeline.end))
            self._results[scan.ref] = ResultRecord(
                scan.ref, scan_result(scan.ref, at, d_err or i_err)
            )
        for regular in self._regular.values():
            for number, timeline in enumerate(regular.timelines):
                _, _, scanned = timeline.counts(now)
                for index in range(regular.harvested[number], scanned):
                    ref = regular.image(number, index)
                    at = self.epoch(timeline.finish_time(timeline.discovery + index + 1))
                    self._results[ref] = ResultRecord(ref, scan_result(ref, at))
                regular.harvested[number] = max(regular.harvested[number], scanned)
