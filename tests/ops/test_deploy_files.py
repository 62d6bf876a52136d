"""The deploy files a newcomer copies: compose file and env example match the settings;
compose keeps secrets in files and has no fallback password."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.config.settings import Settings, load_settings, setting_name

ROOT = Path(__file__).resolve().parents[2]
SECRET_SETTINGS = {
    "PRISMA_PASSWORD",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SCANBOT_DATABASE_URL",
}


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


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_runs_two_replicas_with_postgres_and_the_env_file() -> None:
    services = compose()["services"]
    scanbot = services["scanbot"]
    assert scanbot["deploy"]["replicas"] == 2
    assert scanbot["env_file"] == ["scanbot.env"]
    assert scanbot["environment"]["SCANBOT_DATABASE_URL_FILE"] == "/run/secrets/database_url"
    assert "postgres" in scanbot["depends_on"]
    assert services["postgres"]["image"].startswith("postgres:")


def test_compose_reads_every_secret_from_a_docker_secret_file() -> None:
    """Passwords and tokens are files under ./secrets/, pointed at by ``<NAME>_FILE``."""
    spec = compose()
    declared = spec["secrets"]
    assert all(entry["file"].startswith("./secrets/") for entry in declared.values())
    settings = {setting_name(field) for field in Settings.model_fields}
    for service in spec["services"].values():
        environment = service.get("environment", {})
        mounted = set(service.get("secrets", []))
        assert mounted <= declared.keys()
        for name, value in environment.items():
            if name.endswith("_FILE"):
                assert value.removeprefix("/run/secrets/") in mounted, name
        for secret in SECRET_SETTINGS:
            assert secret not in environment, f"{secret} must come from a file"
    scanbot_environment = spec["services"]["scanbot"]["environment"]
    for secret in SECRET_SETTINGS - {"SLACK_APP_TOKEN"}:
        assert f"{secret}_FILE" in scanbot_environment
        assert secret in settings


def test_compose_has_no_fallback_database_password() -> None:
    """PostgreSQL takes its password only from a required secret file, never a default."""
    text = (ROOT / "docker-compose.yml").read_text()
    assert ":-" not in text, "no ${VAR:-default} fallbacks"
    assert not re.search(r"postgres(ql)?(\+\w+)?://[^/\s]*:[^@/\s<>]+@", text)
    postgres = compose()["services"]["postgres"]
    assert "POSTGRES_PASSWORD" not in postgres["environment"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert compose()["secrets"]["postgres_password"] == {"file": "./secrets/postgres_password"}


def test_compose_runs_scanbot_read_only_without_capabilities() -> None:
    scanbot = compose()["services"]["scanbot"]
    assert scanbot["read_only"] is True
    assert scanbot["tmpfs"] == ["/tmp"]
    assert scanbot["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in scanbot["security_opt"]


def test_secret_files_stay_out_of_git_and_the_image() -> None:
    assert "secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "secrets" in (ROOT / ".dockerignore").read_text().splitlines()
