"""Scans of the simulated console: timelines and the progress entries they produce.

A scan is a timeline of ``discovery`` items (step 1/2) followed by ``images`` items (step
2/2), one item finishing every ``step`` seconds of the injected clock.  A timeline may wait
for its first client (``start is None`` until then), be frozen by ``POST /registry/stop``,
stall for a while (counts stop moving, then resume) and carry an injected step error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.console.images import ImageRef, iso

ZERO_TIME = "0001-01-01T00:00:00Z"  # what the console puts in Progress.scanTime
DEFAULT_REGISTRY = "registry.example.com"
MAX_PARALLEL_REGISTRIES = 4  # a real console scans at most four registries at once


def step_entry(total: int, scanned: int, title: str, error: str = "") -> dict[str, Any]:
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
class Timeline:
    """``discovery`` items then ``images`` items, one every ``step`` seconds from ``start``."""

    start: float | None  # None: starts when a client first asks about it
    step: float
    discovery: int
    images: int
    fail_with: str = ""
    finished: bool = False  # finish_all() jumped it to the end
    stopped_at: float | None = None  # POST /registry/stop froze it
    stalls: list[tuple[float, float]] = field(default_factory=list)  # (from, until)
    step_error: str = ""  # shown in the current step while the scan goes on

    def begin(self, now: float) -> None:
        """Start the clock of a timeline waiting for its first client."""
        if self.start is None:
            self.start = now

    @property
    def end(self) -> int:
        """Items done when the timeline ends (the failure point for a failing one)."""
        if self.fail_with:
            return self.discovery + self.images // 2 if self.images else self.discovery
        return self.discovery + self.images

    def _elapsed(self, now: float) -> float:
        """Running time since ``start``, stalls and a stop left out."""
        if self.start is None:
            return 0.0
        if self.stopped_at is not None:
            now = min(now, self.stopped_at)
        stalled = sum(
            max(0.0, min(now, until) - max(begin, self.start)) for begin, until in self.stalls
        )
        return now - self.start - stalled

    def position(self, now: float) -> int:
        if self.finished or (self.step <= 0 and self.start is not None):
            return self.end
        if self.start is None:
            return 0
        return max(0, min(self.end, math.floor(self._elapsed(now) / self.step + 1e-9)))

    def ongoing(self, now: float) -> bool:
        return self.stopped_at is None and self.position(now) < self.end

    def finish_time(self, item: int) -> float:
        """Clock time when item number ``item`` (1-based) finished (stalls included)."""
        assert self.start is not None
        moment = self.start + item * max(self.step, 0.0)
        for begin, until in sorted(self.stalls):
            if begin < moment:
                moment += until - begin
        return moment

    def stall(self, now: float, seconds: float) -> None:
        """Counts stop moving from ``now`` for ``seconds`` of clock time, then resume."""
        self.stalls.append((now, now + seconds))

    def counts(self, now: float) -> tuple[int, int, int]:
        """(discovered, images known so far, images scanned) at ``now``."""
        done = self.position(now)
        discovered = min(done, self.discovery)
        if discovered >= self.discovery:
            known = self.images
        else:
            known = self.images * discovered // self.discovery
        return discovered, known, max(0, done - self.discovery)

    def errors(self, now: float) -> tuple[str, str]:
        """(discovery error, image scan error) at ``now``."""
        position = self.position(now)
        if self.fail_with and position >= self.end:
            return ("", self.fail_with) if self.images else (self.fail_with, "")
        if self.step_error and position < self.end:
            return (self.step_error, "") if position < self.discovery else ("", self.step_error)
        return "", ""


@dataclass(slots=True)
class OnDemandScan:
    ref: ImageRef
    timeline: Timeline
    consumed: bool = False  # the final entry was served once; [] from now on
    harvested: bool = False
    answered_at: float | None = None  # clock time the final entry was served

    def entry(self, now: float) -> dict[str, Any]:
        discovered, known, scanned = self.timeline.counts(now)
        d_err, i_err = self.timeline.errors(now)
        where = f"repository: {self.ref.repo}, " + (
            f"tag: {self.ref.tag}" if self.ref.tag else f"digest: {self.ref.digest}"
        )
        if self.ref.registry:
            where += f", registry: {self.ref.registry}"
        return {
            "discovery": step_entry(
                self.timeline.discovery, discovered, f"Step 1/2 discovering tags in {where}", d_err
            ),
            "imageScan": step_entry(known, scanned, f"Step 2/2 scanning images in {where}", i_err),
            "isScanOngoing": self.timeline.ongoing(now),
        }


@dataclass(slots=True)
class RegularScan:
    """The regular scan of 1 to 4 registries scanning in parallel, as one progress entry.

    Every registry has ``repositories`` repositories and ``images`` images and runs its own
    timeline from the same start; the entry sums them, and its step titles name the
    registries still busy in that step (``registry X`` for one, ``registries X, Y`` for more).
    """

    registries: tuple[str, ...]
    repositories: int
    timelines: tuple[Timeline, ...]
    started_epoch: float
    harvested: list[int] = field(default_factory=list)  # per registry: images in the results

    @property
    def key(self) -> str:
        return ", ".join(self.registries)

    def image(self, registry_index: int, index: int) -> ImageRef:
        per = max(self.repositories, 1)
        return ImageRef(
            repo=f"apps/service-{index % per:02d}",
            tag=f"1.{index // per}",
            registry=self.registries[registry_index],
        )

    def ongoing(self, now: float) -> bool:
        return any(t.ongoing(now) for t in self.timelines)

    def entry(self, now: float) -> dict[str, Any]:
        counts = [t.counts(now) for t in self.timelines]
        errors = [t.errors(now) for t in self.timelines]
        discovered = sum(c[0] for c in counts)
        known = sum(c[1] for c in counts)
        scanned = sum(c[2] for c in counts)
        total_repos = self.repositories * len(self.registries)
        in_discovery = [
            r
            for r, t in zip(self.registries, self.timelines, strict=True)
            if t.ongoing(now) and t.position(now) < t.discovery
        ]
        in_images = [
            r
            for r, t in zip(self.registries, self.timelines, strict=True)
            if t.ongoing(now) and t.position(now) >= t.discovery
        ]
        defenders = max(1, len(self.registries))
        discovery_title = (
            f"Step 1/2 discovering tags in {_named(in_discovery or list(self.registries))}: "
            f"Discovered tags in {discovered}/{total_repos} repositories with {defenders} Defenders"
        )
        images_title = (
            f"Step 2/2 scanning images in {_named(in_images or list(self.registries))}: "
            f"Scanned {scanned}/{known} images with {defenders} Defender"
            + ("s" if defenders > 1 else "")
        )
        return {
            "discovery": step_entry(
                total_repos, discovered, discovery_title, _joined(e[0] for e in errors)
            ),
            "imageScan": step_entry(known, scanned, images_title, _joined(e[1] for e in errors)),
            "isScanOngoing": self.ongoing(now),
            "specScanStartTime": iso(self.started_epoch),
        }


def _named(registries: list[str]) -> str:
    if len(registries) == 1:
        return f"registry {registries[0]}"
    return "registries " + ", ".join(registries)


def _joined(errors: Any) -> str:
    return "; ".join(dict.fromkeys(e for e in errors if e))
