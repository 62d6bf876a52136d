"""Secrets from files: ``<NAME>_FILE`` names a file with the value (Kubernetes / Docker
secrets), both set is refused, an unreadable file is named without its content."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config.secret_files import FILE_VARIABLES
from bot.config.settings import SettingsError, load_settings
from bot.sandbox.console import SandboxConsole
from tests.test_cli import scanbot


def secret(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    path.chmod(0o400)
    return str(path)


def test_every_secret_and_the_database_url_can_come_from_a_file(tmp_path: Path) -> None:
    values = {
        "PRISMA_PASSWORD": "file-password",
        "SLACK_BOT_TOKEN": "xoxb-from-file",
        "SLACK_SIGNING_SECRET": "signing-from-file",
        "SLACK_APP_TOKEN": "xapp-from-file",
        "SCANBOT_DATABASE_URL": "postgresql+psycopg://u:pw@db/scanbot",
    }
    assert set(values) == set(FILE_VARIABLES)
    env = {f"{name}_FILE": secret(tmp_path, name, value + "\n") for name, value in values.items()}
    settings = load_settings(env)
    assert settings.prisma_password is not None
    assert settings.prisma_password.get_secret_value() == "file-password"
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-file"
    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.get_secret_value() == "signing-from-file"
    assert settings.slack_app_token is not None
    assert settings.slack_app_token.get_secret_value() == "xapp-from-file"
    assert settings.scanbot_database_url == "postgresql+psycopg://u:pw@db/scanbot"


def test_only_one_trailing_newline_is_stripped(tmp_path: Path) -> None:
    crlf = secret(tmp_path, "crlf", "pw-crlf\r\n")
    spaced = secret(tmp_path, "spaced", " pw with spaces \n\n")
    settings = load_settings({"PRISMA_PASSWORD_FILE": crlf})
    assert settings.prisma_password is not None
    assert settings.prisma_password.get_secret_value() == "pw-crlf"
    settings = load_settings({"PRISMA_PASSWORD_FILE": spaced})
    assert settings.prisma_password is not None
    assert settings.prisma_password.get_secret_value() == " pw with spaces \n"


def test_a_variable_and_its_file_both_set_are_refused_naming_both(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-in-env",
        "SLACK_BOT_TOKEN_FILE": secret(tmp_path, "token", "xoxb-in-file\n"),
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set" in message
    assert "xoxb-in-env" not in message
    assert "xoxb-in-file" not in message


def test_an_unreadable_missing_or_empty_file_is_refused_naming_the_variable(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(SettingsError, match=r"PRISMA_PASSWORD_FILE: cannot read .*nope"):
        load_settings({"PRISMA_PASSWORD_FILE": str(missing)})
    with pytest.raises(SettingsError, match=r"SLACK_SIGNING_SECRET_FILE: .* is empty"):
        load_settings({"SLACK_SIGNING_SECRET_FILE": secret(tmp_path, "empty", "\n")})
    with pytest.raises(SettingsError, match="SCANBOT_DATABASE_URL_FILE: cannot read"):
        load_settings({"SCANBOT_DATABASE_URL_FILE": str(tmp_path)})  # a directory
    if os.geteuid() != 0:  # root reads any file
        locked = Path(secret(tmp_path, "locked", "top-secret-value"))
        locked.chmod(0o000)
        with pytest.raises(SettingsError) as caught:
            load_settings({"PRISMA_PASSWORD_FILE": str(locked)})
        assert "PRISMA_PASSWORD_FILE: cannot read" in str(caught.value)
        assert "Permission denied" in str(caught.value)


def test_a_command_that_reads_no_secret_ignores_their_files(tmp_path: Path) -> None:
    settings = load_settings(
        {"PRISMA_PASSWORD_FILE": str(tmp_path / "nope")}, only={"scanbot_log_level"}
    )
    assert settings.prisma_password is None


def test_scanbot_check_reads_the_console_password_from_a_file(tmp_path: Path) -> None:
    """The real command, as a container with a mounted secret runs it."""
    with SandboxConsole().start() as console:
        env = {
            "PRISMA_CONSOLE_URL": console.url,
            "PRISMA_USER": "sandbox",
            "PRISMA_PASSWORD_FILE": secret(tmp_path, "pw", "sandbox-password\n"),
        }
        good = scanbot("check", "--no-database", env=env)
        both = scanbot("check", "--no-database", env={**env, "PRISMA_PASSWORD": "other"})
    assert good.returncode == 0, good.stdout + good.stderr
    assert both.returncode == 3
    assert "PRISMA_PASSWORD and PRISMA_PASSWORD_FILE are both set" in both.stdout + both.stderr
    assert "sandbox-password" not in both.stdout + both.stderr
