"""Noise during outages, counted in ``scanbot run``'s own log.

A Slack outage (slow suite) (every post and edit failing) over 30 poll cycles while a scan moves on
writes one line when Slack goes bad and one when it comes back — not a line or a traceback
per attempt; a poll cycle blocked on a hanging console writes no APScheduler "skipped"
line per second, only the once-a-minute count.  Afterwards the scan is still told once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.stage import Stage, gauge, settled, stage
from tests.support.constants import STEP
from tests.support.faults import fail_http_next

CHANNEL = "CNOISE"
CYCLES = 30


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_slack_outage_and_a_hanging_console_write_a_bounded_number_of_log_lines(
    tmp_path: Path,
) -> None:
    with stage(tmp_path) as s:
        s.console.start_on_demand_scan("noise/app", tag="1.0", discovery_total=1, images=60)
        assert s.follow("noise/app", CHANNEL) is not None
        s.wait(lambda: s.parents(CHANNEL), channel=CHANNEL, timeout=30)
        s.wait(lambda: settled_outbox(s), channel=CHANNEL, timeout=30)
        start = len(s.log_lines())
        for method in ("chat.postMessage", "chat.update"):
            fail_http_next(s.slack, method, status=503, count=1_000_000)
        for _ in range(CYCLES):  # the scan moves every cycle: edits and replies are owed
            s.clock.advance(STEP)
            time.sleep(1.0)
            s.help_answers_now(CHANNEL)
        s.slack.clear_faults()
        # A hanging console blocks one cycle for 8 s (eight scheduled runs skipped).
        s.console.inject_fault("delay", count=1, delay_seconds=8.0, path_contains="progress")
        s.wait(
            lambda: "skipped so far" in "\n".join(s.log_lines()[start:]),
            channel=CHANNEL,
            timeout=60,
        )
        s.clock.advance(100 * STEP)  # every image of this long scan is scanned
        s.wait(lambda: s.completions(CHANNEL) >= 1, channel=CHANNEL, timeout=120)
        s.wait(lambda: settled(s), channel=CHANNEL, timeout=60)
        lines = s.log_lines()[start:]
        counts = s.counts(CHANNEL)

    noise = [line for line in lines if "poll cycle:" not in line and "/scanprogress" not in line]
    print(f"{len(lines)} log lines during the outage, {len(noise)} besides cycle reports:")
    print("\n".join(noise))
    assert len(noise) < 20
    assert sum("Slack calls are failing" in line for line in noise) == 1
    assert sum("Slack takes messages again" in line for line in noise) == 1
    assert not any("Traceback" in line for line in lines)
    assert not any("maximum number of running instances" in line for line in lines)
    assert sum("skipped so far" in line for line in lines) == 1
    assert (counts.parents, counts.completions, counts.slow_acks) == (1, 1, 0)


def settled_outbox(s: Stage) -> bool:
    return gauge(s, "scanbot_outbox_pending") == 0
