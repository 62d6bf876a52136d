"""kill -9 at random points of a watch, 20 times in a row, then the scan completes.

The bot runs as ``scanbot run``; after the parent is posted it is killed with SIGKILL at a
random delay (0-4 s: mid-cycle, mid-send, mid-start), restarted, and killed again, while
the scan moves on.  At the end: one parent, one "Scan complete", no message (by its
outbox key) twice in the channel or its thread.  The random delays come from a seed that
is printed (``SCANBOT_CHAOS_SEED`` replays a run).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.stage import Stage, settled, stage
from tests.support.constants import STEP

KILLS = 20
CHANNEL = "CKILL9"


def message_keys(s: Stage) -> Counter[str]:
    """Every message in the channel and its threads, by the outbox key it carries."""
    keys: Counter[str] = Counter()
    for parent in s.parents(CHANNEL):
        for message in [parent, *s.slack.thread(CHANNEL, str(parent["ts"]))]:
            metadata = message.get("metadata")
            keys[json.dumps(metadata, sort_keys=True) if metadata else str(message["ts"])] += 1
    return keys


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_twenty_kill_9s_in_a_row_lose_nothing_and_repeat_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("SCANBOT_CHAOS_SEED") or time.time_ns() % 2**32)
    print(f"kill -9 loop seed: {seed} (replay with SCANBOT_CHAOS_SEED={seed})")
    chance = random.Random(seed)
    with stage(tmp_path) as s:
        s.console.start_on_demand_scan("chaos/app", tag="1.0", discovery_total=1, images=40)
        ack = s.follow("chaos/app", CHANNEL)
        assert ack is not None
        assert "Looking up" in ack.text
        s.wait(lambda: s.parents(CHANNEL), channel=CHANNEL, timeout=30)
        delays = []
        for _ in range(KILLS):
            s.clock.advance(STEP)  # the scan moves on: edits and replies are owed
            delay = chance.uniform(0.0, 4.0)
            delays.append(round(delay, 2))
            time.sleep(delay)
            s.kill()
            s.start()
        s.clock.advance(100 * STEP)  # every image of this long scan is scanned
        s.wait(lambda: s.completions(CHANNEL) >= 1, channel=CHANNEL, timeout=180)
        s.wait(lambda: settled(s), channel=CHANNEL, timeout=120)
        keys = message_keys(s)
        counts = s.counts(CHANNEL)

    print(f"delays: {delays}; {counts}; {sum(keys.values())} messages")
    assert counts.parents == 1
    assert counts.completions == 1
    assert [key for key, n in keys.items() if n > 1] == []
    assert counts.slow_acks == 0
