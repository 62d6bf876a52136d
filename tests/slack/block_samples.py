"""Fixed inputs shared by the Block Kit builder tests: times, images, snapshots, watches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.console_types import ProgressEntry, ScanResult, SeverityCounts
from bot.domain.images import ScanTarget
from bot.domain.progress import ProgressSnapshot, snapshot
from bot.domain.steps import Step
from bot.domain.watch import Watch, WatchState

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ALPINE = ScanTarget(repo="library/alpine", tag="3.16")
PRIVATE = ScanTarget(repo="team/app", tag="1.2", registry="registry.example.com:5000")
HOSTILE = "<!channel> & <@U1>"


def snap_of(
    disc: tuple[int, int], scan: tuple[int, int], *, ongoing: bool = True, error: str = ""
) -> ProgressSnapshot:
    return snapshot(
        [
            ProgressEntry(
                discovery=Step(
                    total=disc[0],
                    scanned=disc[1],
                    title="Step 1/2 discovering tags in repository: library/alpine, tag: 3.16",
                ),
                image_scan=Step(
                    total=scan[0],
                    scanned=scan[1],
                    title="Step 2/2 scanning images in repository: library/alpine, tag: 3.16",
                    error=error,
                ),
                is_scan_ongoing=ongoing,
                spec_scan_start_time=NOW - timedelta(minutes=4),
            )
        ]
    )


DISCOVERING = snap_of((4, 2), (0, 0))
SCANNING = snap_of((1, 1), (10, 3))
COMPLETE = snap_of((1, 1), (10, 10), ongoing=False)
FAILED = snap_of((1, 1), (10, 4), ongoing=False, error="failed to pull image: unauthorized")
RESULT = ScanResult(
    image="alpine:3.16",
    vulnerabilities=SeverityCounts(critical=1, high=4, medium=7, low=2, total=14),
    compliance=SeverityCounts(high=2, total=2),
    vulnerabilities_count=14,
    compliance_issues_count=2,
)


def watch(
    state: WatchState = WatchState.ACTIVE,
    *,
    target: ScanTarget = ALPINE,
    snap: ProgressSnapshot | None = SCANNING,
    watch_id: int = 7,
    requester: str = "U123ABC",
    age: timedelta = timedelta(minutes=5),
) -> Watch:
    return Watch(
        id=watch_id,
        target=target,
        channel_id="C0123ABC",
        requester_id=requester,
        state=state,
        created_at=NOW - age,
        updated_at=NOW,
        parent_ts="1714564500.000100",
        last_snapshot=snap,
        saw_running=True,
    )
