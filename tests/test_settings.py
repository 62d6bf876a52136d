"""Settings: environment names are a public contract; bad values fail naming the variable."""

from __future__ import annotations

import pytest

from bot.config.settings import SettingsError, load_settings


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


def test_log_level_and_format_are_case_insensitive() -> None:
    settings = load_settings({"SCANBOT_LOG_LEVEL": "debug", "SCANBOT_LOG_FORMAT": "JSON"})
    assert settings.scanbot_log_level == "DEBUG"
    assert settings.scanbot_log_format == "json"
    assert load_settings({}).scanbot_log_format == "text"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("34.04.145", "v34.04"), ("v34.04.145", "v34.04"), ("34.04", "v34.04"), ("v1", "v1")],
)
def test_api_version_accepts_the_form_the_console_reports(given: str, expected: str) -> None:
    assert load_settings({"PRISMA_API_VERSION": given}).prisma_api_version == expected


def test_error_messages_carry_no_pydantic_prefix() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"PRISMA_API_VERSION": "latest"})
    assert "Value error" not in str(caught.value)
    assert "PRISMA_API_VERSION: 'latest' is not an API version" in str(caught.value)


def test_new_settings_have_documented_defaults() -> None:
    settings = load_settings({})
    assert settings.scanbot_notify_channels == ()
    assert settings.scanbot_scan_users == ()
    assert settings.scanbot_scan_channels == ()
    assert settings.scanbot_stall_minutes == 30
    assert settings.scanbot_digest_channels == ()
    assert settings.scanbot_digest_cron == "0 9 * * 1-5"
    assert settings.scanbot_digest_timezone == "UTC"
    assert settings.scanbot_max_body_bytes == 1_048_576
    assert settings.scanbot_work_queue_size == 1000
    assert settings.scanbot_work_threads == 8


def test_id_lists_parse_to_tuples_without_blanks_or_duplicates() -> None:
    settings = load_settings(
        {
            "SCANBOT_NOTIFY_CHANNELS": "C012AB, G345CD,,C012AB",
            "SCANBOT_SCAN_USERS": "U0AAA,W0BBB",
            "SCANBOT_SCAN_CHANNELS": " C0CCC ",
            "SCANBOT_DIGEST_CHANNELS": "C0DDD",
            "SCANBOT_DIGEST_CRON": "30  8 * * mon-fri",
            "SCANBOT_DIGEST_TIMEZONE": "Europe/Berlin",
            "SCANBOT_STALL_MINUTES": "7.5",
        }
    )
    assert settings.scanbot_notify_channels == ("C012AB", "G345CD")
    assert settings.scanbot_scan_users == ("U0AAA", "W0BBB")
    assert settings.scanbot_scan_channels == ("C0CCC",)
    assert settings.scanbot_digest_channels == ("C0DDD",)
    assert settings.scanbot_digest_cron == "30 8 * * mon-fri"
    assert settings.scanbot_digest_timezone == "Europe/Berlin"
    assert settings.scanbot_stall_minutes == 7.5


@pytest.mark.parametrize(
    ("env", "hint"),
    [
        ({"SCANBOT_NOTIFY_CHANNELS": "#general"}, "not a Slack channel id"),
        ({"SCANBOT_SCAN_CHANNELS": "C0AAA,general"}, "not a Slack channel id"),
        ({"SCANBOT_SCAN_USERS": "@alice"}, "not a Slack user id"),
        ({"SCANBOT_DIGEST_CRON": "every morning"}, "not a crontab expression"),
        ({"SCANBOT_DIGEST_CRON": "61 * * * *"}, "not a crontab expression"),
        ({"SCANBOT_DIGEST_TIMEZONE": "Mars/Olympus"}, "not a time zone"),
        ({"SCANBOT_STALL_MINUTES": "0"}, "greater than 0"),
        ({"SCANBOT_LOG_FORMAT": "xml"}, "SCANBOT_LOG_FORMAT"),
        ({"SCANBOT_MAX_BODY_BYTES": "10"}, "SCANBOT_MAX_BODY_BYTES"),
        ({"SCANBOT_WORK_QUEUE_SIZE": "0"}, "SCANBOT_WORK_QUEUE_SIZE"),
        ({"SCANBOT_WORK_THREADS": "many"}, "SCANBOT_WORK_THREADS"),
        ({"SCANBOT_SHUTDOWN_SECONDS": "-1"}, "SCANBOT_SHUTDOWN_SECONDS"),
    ],
)
def test_new_settings_refuse_bad_values_saying_how_to_fix_them(
    env: dict[str, str], hint: str
) -> None:
    (variable,) = env
    with pytest.raises(SettingsError, match=variable) as caught:
        load_settings(env)
    assert hint in str(caught.value)


def test_only_the_fields_a_command_reads_are_validated() -> None:
    settings = load_settings(
        {"PORT": "not-a-port", "SCANBOT_LOG_LEVEL": "warning"}, only={"scanbot_log_level"}
    )
    assert settings.port == 3000
    assert settings.scanbot_log_level == "WARNING"
    with pytest.raises(SettingsError, match="SCANBOT_LOG_LEVEL"):
        load_settings({"PORT": "x", "SCANBOT_LOG_LEVEL": "loud"}, only={"scanbot_log_level"})


def test_an_explicit_mapping_is_read_alone_not_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "4242")
    assert load_settings({}).port == 3000
    assert load_settings().port == 4242
