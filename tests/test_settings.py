"""Settings: environment names are a public contract; bad values fail naming the variable."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_match_the_documented_contract() -> None:
    settings = load_settings({})
    assert settings.scanbot_poll_seconds == 15
    assert settings.scanbot_thread_update_seconds == 60
    assert settings.scanbot_max_watch_seconds == 24 * 3600
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.scanbot_database_url == "sqlite:///scanbot.db"
    assert settings.prisma_verify_tls is True
    assert settings.prisma_api_version is None
    assert settings.socket_mode is False


def test_every_documented_variable_is_read_from_the_environment() -> None:
    env = {
        "PRISMA_CONSOLE_URL": "https://console.example.com:8083/",
        "PRISMA_USER": "scanbot",
        "PRISMA_PASSWORD": "pw",
        "PRISMA_API_VERSION": "34.04",
        "PRISMA_PROJECT": "Central Console",
        "PRISMA_VERIFY_TLS": "false",
        "PRISMA_CA_BUNDLE": "/etc/ssl/ca.pem",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_API_URL": "http://127.0.0.1:9/api",
        "SCANBOT_DATABASE_URL": "postgresql+psycopg://u:p@db/scanbot",
        "SCANBOT_POLL_SECONDS": "2",
        "PORT": "8080",
    }
    settings = load_settings(env)
    assert settings.prisma_console_url == "https://console.example.com:8083"
    assert settings.prisma_api_version == "v34.04"
    assert settings.prisma_project == "Central Console"
    assert settings.prisma_verify_tls is False
    assert str(settings.prisma_ca_bundle) == "/etc/ssl/ca.pem"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.socket_mode is True
    assert settings.scanbot_poll_seconds == 2
    assert settings.port == 8080


def test_saas_console_url_keeps_its_tenant_path_prefix() -> None:
    settings = load_settings(
        {"PRISMA_CONSOLE_URL": "https://us-east1.cloud.twistlock.com/us-2-1234/"}
    )
    assert settings.prisma_console_url == "https://us-east1.cloud.twistlock.com/us-2-1234"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SCANBOT_POLL_SECONDS": "0.5"}, "SCANBOT_POLL_SECONDS"),
        ({"SCANBOT_POLL_SECONDS": "often"}, "SCANBOT_POLL_SECONDS"),
        ({"PORT": "70000"}, "PORT"),
        ({"PRISMA_CONSOLE_URL": "console.example.com"}, "PRISMA_CONSOLE_URL"),
        ({"PRISMA_API_VERSION": "latest"}, "PRISMA_API_VERSION"),
        ({"PRISMA_VERIFY_TLS": "maybe"}, "PRISMA_VERIFY_TLS"),
        ({"PRISMA_AUTH": "oauth"}, "PRISMA_AUTH"),
    ],
)
def test_invalid_value_fails_with_a_message_naming_the_variable(
    env: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)


def test_missing_console_settings_are_named() -> None:
    settings = load_settings({"PRISMA_CONSOLE_URL": "https://c.example.com"})
    with pytest.raises(SettingsError, match="PRISMA_USER, PRISMA_PASSWORD"):
        settings.require_console()


def test_missing_slack_settings_are_named() -> None:
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET"):
        load_settings({}).require_slack()


def test_secrets_never_appear_in_repr_or_errors() -> None:
    env = {
        "PRISMA_PASSWORD": "hunter2-secret",
        "SLACK_BOT_TOKEN": "xoxb-very-secret",
        "SLACK_SIGNING_SECRET": "signing-secret-value",
        "SCANBOT_DATABASE_URL": "postgresql+psycopg://u:dbpass-secret@db/scanbot",
    }
    settings = load_settings(env)
    text = repr(settings) + str(settings)
    for secret in ("hunter2-secret", "xoxb-very-secret", "signing-secret-value", "dbpass-secret"):
        assert secret not in text
    with pytest.raises(SettingsError) as caught:
        load_settings({**env, "PORT": "x"})
    assert "hunter2-secret" not in str(caught.value)


def test_overrides_win_over_the_environment_and_unknown_names_are_refused() -> None:
    settings = load_settings({"SCANBOT_POLL_SECONDS": "30"}, scanbot_poll_seconds=1)
    assert settings.scanbot_poll_seconds == 1
    with pytest.raises(TypeError):
        load_settings({}, no_such_setting=1)


def test_empty_values_count_as_unset() -> None:
    assert load_settings({"PRISMA_API_VERSION": "", "PORT": " "}).port == 3000


def test_socket_mode_needs_no_signing_secret() -> None:
    load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).require_slack()
