"""Scan simulation behind the sandbox console: on-demand and regular scans, results, limits.

Everything here is pure state driven by an injectable clock (no HTTP, no threads of its
own); :mod:`bot.sandbox.console` serves it over HTTP.  A scan is a timeline of
``discovery`` items (step 1/2) followed by ``images`` items (step 2/2), one item finishing
every ``step_seconds``.  :class:`ManualClock` lets tests move time by hand.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.console_images import ImageRef, ResultQuery, ResultRecord, iso, scan_result

ZERO_TIME = "0001-01-01T00:00:00Z"  # what the console puts in Progress.scanTime
DEFAULT_REGISTRY = "registry.example.com"


class ManualClock:
    """A clock for tests: starts at ``start`` and moves only with :meth:`advance`."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (>= 0)."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds


def _step(total: int, scanned: int, title: str, error: str = "") -> dict[str, Any]:
    """One ``shared.Progress`` object, shaped like the API page's example."""
    step: dict[str, Any] = {
        "hostname": "",
        "id": "",
        "scanTime": ZERO_TIME,
        "type": "",
        "discovery": False,
        "total": total,
        "scanned": scanned,
        "title": title,
    }
    if error:
        step["error"] = error
    return step


@dataclass(slots=True)
class _Timeline:
    """``discovery`` items then ``images`` items, one every ``step`` seconds from ``start``."""

    start: float
    step: float
    discovery: int
    images: int
    fail_with: str = ""
    finished: bool = False  # finish_all() jumped it to the end
    stopped_at: float | None = None  # POST /registry/stop froze it

    @property
    def end(self) -> int:
        """Items done when the timeline ends (the failure point for a failing one)."""
        if self.fail_with:
            return self.discovery + self.images // 2 if self.images else self.discovery
        return self.discovery + self.images

    def position(self, now: float) -> int:
        if self.finished or self.step <= 0:
            return self.end
        if self.stopped_at is not None:
            now = min(now, self.stopped_at)
        return max(0, min(self.end, math.floor((now - self.start) / self.step + 1e-9)))

    def ongoing(self, now: float) -> bool:
        return self.stopped_at is None and self.position(now) < self.end

    def finish_time(self, item: int) -> float:
        """Clock time when item number ``item`` (1-based) finished."""
        return self.start + item * max(self.step, 0.0)

    def counts(self, now: float) -> tuple[int, int, int]:
        """(discovered, images known so far, images scanned) at ``now``."""
        done = self.position(now)
        discovered = min(done, self.discovery)
        if discovered >= self.discovery:
            known = self.images
        else:
            known = self.images * discovered // self.discovery
        return discovered, known, max(0, done - self.discovery)

    def error_in(self, now: float) -> tuple[str, str]:
        """(discovery error, image scan error) at ``now``."""
        if not self.fail_with or self.position(now) < self.end:
            return "", ""
        return ("", self.fail_with) if self.images else (self.fail_with, "")


@dataclass(slots=True)
class _OnDemandScan:
    ref: ImageRef
    timeline: _Timeline
    consumed: bool = False  # the final entry was served once; [] from now on
    harvested: bool = False

    def entry(self, now: float) -> dict[str, Any]:
        discovered, known, scanned = self.timeline.counts(now)
        d_err, i_err = self.timeline.error_in(now)
        where = f"repository: {self.ref.repo}, " + (
            f"tag: {self.ref.tag}" if self.ref.tag else f"digest: {self.ref.digest}"
        )
        if self.ref.registry:
            where += f", registry: {self.ref.registry}"
        return {
            "discovery": _step(
                self.timeline.discovery,
                discovered,
                f"Step 1/2 discovering tags in {where}",
                d_err,
            ),
            "imageScan": _step(known, scanned, f"Step 2/2 scanning images in {where}", i_err),
            "isScanOngoing": self.timeline.ongoing(now),
        }


@dataclass(slots=True)
class _RegularScan:
    registry: str
    repositories: int
    timeline: _Timeline
    started_epoch: float
    harvested: int = 0  # images already copied into the results

    def image(self, index: int) -> ImageRef:
        repo = f"apps/service-{index % max(self.repositories, 1):02d}"
        return ImageRef(
            repo=repo, tag=f"1.{index // max(self.repositories, 1)}", registry=self.registry
        )

    def entry(self, now: float) -> dict[str, Any]:
        discovered, known, scanned = self.timeline.counts(now)
        reg = self.registry
        return {
            "discovery": _step(
                self.repositories,
                discovered,
                f"Step 1/2 discovering tags in registry {reg}: Discovered tags in "
                f"{discovered}/{self.repositories} repositories with 1 Defenders",
            ),
            "imageScan": _step(
                known,
                scanned,
                f"Step 2/2 scanning images in registry {reg}: Scanned "
                f"{scanned}/{known} images with 1 Defender",
            ),
            "isScanOngoing": self.timeline.ongoing(now),
            "specScanStartTime": iso(self.started_epoch),
        }


class ScanSimulator:
    """All scans and results of one sandbox console.  Thread-safe (one lock)."""

    def __init__(self, clock: Callable[[], float], default_step: float) -> None:
        self._clock = clock
        self._clock0 = clock()
        self._epoch0 = float(int(datetime.now(UTC).timestamp()))
        self._default_step = default_step
        self._lock = threading.RLock()
        self._on_demand: dict[ImageRef, _OnDemandScan] = {}
        self._regular: dict[str, _RegularScan] = {}
        self._results: dict[ImageRef, ResultRecord] = {}

    def epoch(self, at: float | None = None) -> float:
        """Epoch seconds of clock time ``at`` (default: now); integral on a manual clock."""
        return self._epoch0 + ((self._clock() if at is None else at) - self._clock0)

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
    ) -> bool:
        """Start a scan of ``ref`` (``restart=False`` keeps an ongoing one); True if started."""
        if discovery_total < 0 or images < 0:
            raise ValueError("discovery_total and images must be >= 0")
        with self._lock:
            now = self._clock()
            self._harvest(now)
            current = self._on_demand.get(ref)
            if not restart and current is not None and current.timeline.ongoing(now):
                return False
            step = self._default_step if step_seconds is None else step_seconds
            timeline = _Timeline(now, step, discovery_total, images, fail_with or "")
            self._on_demand[ref] = _OnDemandScan(ref, timeline)
            return True

    def on_demand_progress(self, ref: ImageRef) -> list[dict[str, Any]]:
        """The progress list for ``ref``: ongoing, then the final entry once, then ``[]``."""
        with self._lock:
            now = self._clock()
            self._harvest(now)
            scan = self._on_demand.get(ref)
            if scan is None or scan.consumed:
                return []
            entry = scan.entry(now)
            if not entry["isScanOngoing"]:
                scan.consumed = True
            return [entry]

    # --- regular scans --------------------------------------------------------------
    def start_regular(
        self,
        *,
        registry: str = DEFAULT_REGISTRY,
        repositories: int = 4,
        images: int = 12,
        step_seconds: float | None = None,
    ) -> None:
        """Start (or restart) the regular scan of ``registry``."""
        if repositories < 1 or images < 0:
            raise ValueError("repositories must be >= 1 and images >= 0")
        with self._lock:
            now = self._clock()
            self._harvest(now)
            step = self._default_step if step_seconds is None else step_seconds
            timeline = _Timeline(now, step, repositories, images)
            self._regular[registry] = _RegularScan(
                registry, repositories, timeline, self.epoch(now)
            )

    def restart_regular(self, registry: str | None) -> None:
        """What ``POST /registry/scan`` does: rescan ``registry``, or every known registry."""
        with self._lock:
            names = [registry] if registry else (sorted(self._regular) or [DEFAULT_REGISTRY])
            for name in names:
                old = self._regular.get(name)
                if old is None:
                    self.start_regular(registry=name)
                else:
                    self.start_regular(
                        registry=name,
                        repositories=old.repositories,
                        images=old.timeline.images,
                        step_seconds=old.timeline.step,
                    )

    def stop_regular(self) -> None:
        """``POST /registry/stop``: freeze every ongoing regular scan where it is."""
        with self._lock:
            now = self._clock()
            self._harvest(now)
            for scan in self._regular.values():
                if scan.timeline.ongoing(now):
                    scan.timeline.stopped_at = now

    def regular_progress(self) -> list[dict[str, Any]]:
        """One entry per registry; finished scans keep being served with isScanOngoing false."""
        with self._lock:
            now = self._clock()
            self._harvest(now)
            return [scan.entry(now) for _, scan in sorted(self._regular.items())]

    # --- everything -----------------------------------------------------------------
    def finish_all(self) -> None:
        """Jump every scan to its end (a failing one to its failure)."""
        with self._lock:
            for timeline in [s.timeline for s in self._on_demand.values()] + [
                s.timeline for s in self._regular.values()
            ]:
                timeline.finished = True
            self._harvest(self._clock())

    def results(self, query: ResultQuery) -> tuple[list[dict[str, Any]], int]:
        """(page of results, total matching) for ``GET /registry``, sorted by image key."""
        with self._lock:
            self._harvest(self._clock())
            matching = [
                r
                for _, r in sorted(self._results.items(), key=lambda kv: kv[0].key)
                if r.matches(query)
            ]
            page = matching[query.offset : query.offset + query.limit]
            return [query.present(r.body) for r in page], len(matching)

    def _harvest(self, now: float) -> None:
        """Copy newly completed images into the results (they outlive their scans)."""
        for scan in self._on_demand.values():
            timeline = scan.timeline
            if scan.harvested or timeline.ongoing(now):
                continue
            scan.harvested = True
            d_err, i_err = timeline.error_in(now)
            at = self.epoch(timeline.finish_time(timeline.end))
            self._results[scan.ref] = ResultRecord(
                scan.ref, scan_result(scan.ref, at, d_err or i_err)
            )
        for regular in self._regular.values():
            _, _, scanned = regular.timeline.counts(now)
            for index in range(regular.harvested, scanned):
                ref = regular.image(index)
                at = self.epoch(
                    regular.timeline.finish_time(regular.timeline.discovery + index + 1)
                )
                self._results[ref] = ResultRecord(ref, scan_result(ref, at))
            regular.harvested = max(regular.harvested, scanned)
