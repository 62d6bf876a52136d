"""The HTTP surface: /healthz reflects the scheduler and the database; unknown paths 404."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.harness import running_bot


def test_healthz_is_503_until_the_scheduler_runs_then_200(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        before = httpx.get(f"{bot.url}/healthz")
        assert before.status_code == 503
        assert before.json()["scheduler"] == "stopped"

        bot.runtime.start()
        after = httpx.get(f"{bot.url}/healthz")
        assert after.status_code == 200
        assert after.json() == {"status": "ok", "scheduler": "running", "database": "ok"}


def test_unknown_paths_are_404_and_events_need_post(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        assert httpx.get(f"{bot.url}/nope").status_code == 404
        assert httpx.get(f"{bot.url}/slack/events").status_code == 404
