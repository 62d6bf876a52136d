"""The deploy files a newcomer copies: compose file and env example match the settings."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.config.settings import Settings, load_settings, setting_name

ROOT = Path(__file__).resolve().parents[2]


def test_the_env_example_names_every_setting_once_with_a_comment_above_it() -> None:
    lines = (ROOT / "scanbot.env.example").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_]+=", line)]
    assert sorted(names) == sorted(setting_name(field) for field in Settings.model_fields)
    for index, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            assert lines[index - 1].startswith("# "), f"no comment above {line}"


def test_the_env_example_loads_as_valid_settings() -> None:
    values = {}
    for line in (ROOT / "scanbot.env.example").read_text().splitlines():
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            values[key] = value
    settings = load_settings(values)
    settings.require_console()
    settings.require_slack()


def test_compose_runs_two_replicas_with_postgres_and_the_env_file() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    scanbot = compose["services"]["scanbot"]
    assert scanbot["deploy"]["replicas"] == 2
    assert scanbot["env_file"] == ["scanbot.env"]
    assert scanbot["environment"]["SCANBOT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "postgres" in scanbot["depends_on"]
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
