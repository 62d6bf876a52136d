"""The one settings object, built from the environment and passed down.

Every field is read from the environment variable named by its ``validation_alias``;
those names are a public contract (README, docs and tests rely on them).  The secrets and the
database URL may instead come from a file named by ``<NAME>_FILE``
(:mod:`bot.config.secret_files`).  A missing or
invalid value fails at start with a :class:`SettingsError` whose message names the
variable.  Secrets are :class:`pydantic.SecretStr`, so they never show in reprs or logs.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config.checks import (
    check_cron,
    check_database_url,
    check_timezone,
    split_channel_ids,
    split_permission_channel_ids,
    split_user_ids,
)
from bot.config.secret_files import FILE_VARIABLES, SecretFileError, values_from_files
from bot.domain.permissions import Permissions

# "v34.04", "34.04", "v1", and "34.04.145" (the form GET /version returns).
_API_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.\d+)*$")

ChannelIds = Annotated[tuple[str, ...], BeforeValidator(split_channel_ids)]
UserIds = Annotated[tuple[str, ...], BeforeValidator(split_user_ids)]
PermissionChannelIds = Annotated[tuple[str, ...], BeforeValidator(split_permission_channel_ids)]


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """All configuration of scanbot.  Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        extra="ignore",
        frozen=True,
        populate_by_name=False,
        case_sensitive=False,
        env_ignore_empty=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values :func:`load_settings` passes: it alone reads the environment, so
        ``load_settings({...})`` sees exactly that mapping and nothing of the process's."""
        return (init_settings,)

    # --- Prisma Cloud Compute console -------------------------------------------------
    prisma_console_url: str | None = Field(
        default=None,
        validation_alias=_env("PRISMA_CONSOLE_URL"),
        description="https://host:8083 (self-hosted) or https://<region>.cloud.twistlock.com/<tenant>",
    )
    prisma_user: str | None = Field(default=None, validation_alias=_env("PRISMA_USER"))
    prisma_password: SecretStr | None = Field(
        default=None, validation_alias=_env("PRISMA_PASSWORD")
    )
    prisma_api_version: str | None = Field(
        default=None,
        validation_alias=_env("PRISMA_API_VERSION"),
        description="unset: ask GET /api/v1/version once; 'v1' or e.g. 'v34.04' pins it",
    )
    prisma_project: str | None = Field(default=None, validation_alias=_env("PRISMA_PROJECT"))
    prisma_verify_tls: bool = Field(default=True, validation_alias=_env("PRISMA_VERIFY_TLS"))
    prisma_ca_bundle: Path | None = Field(default=None, validation_alias=_env("PRISMA_CA_BUNDLE"))
    prisma_auth: Literal["token", "basic"] = Field(
        default="token",
        validation_alias=_env("PRISMA_AUTH"),
        description="'token' (POST /authenticate, Bearer JWT) or 'basic' (HTTP Basic)",
    )
    prisma_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, validation_alias=_env("PRISMA_TIMEOUT_SECONDS")
    )

    # --- Slack ------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=_env("SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=_env("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=_env("SLACK_APP_TOKEN")
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias=_env("SLACK_API_URL")
    )

    # --- scanbot ------------------------------------------------------------------------
    scanbot_database_url: str = Field(
        default="sqlite:///scanbot.db",
        validation_alias=_env("SCANBOT_DATABASE_URL"),
        repr=False,  # a PostgreSQL URL may carry a password
    )
    scanbot_poll_seconds: float = Field(
        default=15.0, ge=1, validation_alias=_env("SCANBOT_POLL_SECONDS")
    )
    scanbot_thread_update_seconds: float = Field(
        default=60.0, ge=0, validation_alias=_env("SCANBOT_THREAD_UPDATE_SECONDS")
    )
    scanbot_max_watch_seconds: float = Field(
        default=24 * 3600.0, ge=60, validation_alias=_env("SCANBOT_MAX_WATCH_SECONDS")
    )
    scanbot_retention_days: float = Field(
        default=30.0, ge=1, validation_alias=_env("SCANBOT_RETENTION_DAYS")
    )
    scanbot_console_concurrency: int = Field(
        default=4, ge=1, le=64, validation_alias=_env("SCANBOT_CONSOLE_CONCURRENCY")
    )
    scanbot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=_env("SCANBOT_LOG_LEVEL")
    )
    scanbot_log_format: Literal["text", "json"] = Field(
        default="text", validation_alias=_env("SCANBOT_LOG_FORMAT")
    )
    port: int = Field(default=3000, ge=1, le=65535, validation_alias=_env("PORT"))

    # --- who may do what, where things are posted ------------------------------------------
    scanbot_notify_channels: ChannelIds = Field(
        default=(), validation_alias=_env("SCANBOT_NOTIFY_CHANNELS")
    )
    scanbot_admin_users: UserIds = Field(default=(), validation_alias=_env("SCANBOT_ADMIN_USERS"))
    scanbot_scan_users: UserIds = Field(default=(), validation_alias=_env("SCANBOT_SCAN_USERS"))
    scanbot_scan_channels: PermissionChannelIds = Field(
        default=(), validation_alias=_env("SCANBOT_SCAN_CHANNELS")
    )
    scanbot_stall_minutes: float = Field(
        default=30.0, gt=0, validation_alias=_env("SCANBOT_STALL_MINUTES")
    )
    scanbot_regular_max_age_hours: float = Field(
        default=48.0, gt=0, validation_alias=_env("SCANBOT_REGULAR_MAX_AGE_HOURS")
    )
    scanbot_result_wait_minutes: float = Field(
        default=10.0, ge=0, validation_alias=_env("SCANBOT_RESULT_WAIT_MINUTES")
    )
    scanbot_digest_channels: ChannelIds = Field(
        default=(), validation_alias=_env("SCANBOT_DIGEST_CHANNELS")
    )
    scanbot_digest_cron: str = Field(
        default="0 9 * * 1-5", validation_alias=_env("SCANBOT_DIGEST_CRON")
    )
    scanbot_digest_timezone: str = Field(
        default="UTC", validation_alias=_env("SCANBOT_DIGEST_TIMEZONE")
    )

    # --- limits -----------------------------------------------------------------------------
    scanbot_max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=64 * 1_048_576,
        validation_alias=_env("SCANBOT_MAX_BODY_BYTES"),
    )
    scanbot_work_queue_size: int = Field(
        default=1000, ge=1, le=1_000_000, validation_alias=_env("SCANBOT_WORK_QUEUE_SIZE")
    )
    scanbot_work_threads: int = Field(
        default=8, ge=1, le=256, validation_alias=_env("SCANBOT_WORK_THREADS")
    )
    scanbot_shutdown_seconds: float = Field(
        default=8.0, ge=0.0, le=3600.0, validation_alias=_env("SCANBOT_SHUTDOWN_SECONDS")
    )
    scanbot_max_subscriptions: int = Field(
        default=50, ge=1, le=100_000, validation_alias=_env("SCANBOT_MAX_SUBSCRIPTIONS")
    )

    @field_validator("scanbot_log_level", "scanbot_log_format", "prisma_auth", mode="before")
    @classmethod
    def _fold_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        return value.upper() if info.field_name == "scanbot_log_level" else value.lower()

    @field_validator("scanbot_digest_cron")
    @classmethod
    def _check_digest_cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("scanbot_database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("scanbot_digest_timezone")
    @classmethod
    def _check_digest_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("prisma_console_url")
    @classmethod
    def _check_console_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://console.example.com:8083")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query string or fragment")
        # Keep the path prefix (SaaS tenants live under /<tenant>), drop a trailing slash.
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    @field_validator("prisma_api_version")
    @classmethod
    def _check_api_version(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _API_VERSION.match(value.strip())
        if not match:
            raise ValueError(
                f"{value.strip()!r} is not an API version: use e.g. 'v34.04' or the console's "
                "version '34.04.145' (Manage > System > About), or leave it unset to detect it"
            )
        major, minor = match.group(1), match.group(2)
        return f"v{major}.{minor}" if minor is not None else f"v{major}"

    @field_validator("slack_api_url")
    @classmethod
    def _check_slack_api_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value.strip() if value.strip().endswith("/") else value.strip() + "/"

    # --- requirement checks per command ------------------------------------------------
    def require_console(self) -> None:
        """Fail with a message naming the variable when the console cannot be reached."""
        missing = [
            name
            for name, value in (
                ("PRISMA_CONSOLE_URL", self.prisma_console_url),
                ("PRISMA_USER", self.prisma_user),
                ("PRISMA_PASSWORD", self.prisma_password),
            )
            if value is None
        ]
        if missing:
            raise SettingsError(
                f"{', '.join(missing)} not set: scanbot needs the Prisma Cloud Compute console "
                "URL and credentials (user/password, or access key id/secret key on SaaS)"
            )

    def require_slack(self) -> None:
        """Fail with a message naming the variable when Slack cannot be served."""
        required: list[tuple[str, object]] = [("SLACK_BOT_TOKEN", self.slack_bot_token)]
        if not self.socket_mode:  # Socket Mode requests are not signed; HTTP ones are
            required.append(("SLACK_SIGNING_SECRET", self.slack_signing_secret))
        missing = [name for name, value in required if value is None]
        if missing:
            raise SettingsError(
                f"{', '.join(missing)} not set: find them under 'OAuth & Permissions' and "
                "'Basic Information' of your Slack app"
            )

    @property
    def permissions(self) -> Permissions:
        """Who may do what, as the domain's value."""
        return Permissions(
            admin_users=frozenset(self.scanbot_admin_users),
            scan_users=frozenset(self.scanbot_scan_users),
            scan_channels=frozenset(self.scanbot_scan_channels),
        )

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None


def setting_name(field_name: str) -> str:
    """The environment variable of a field, e.g. ``port`` → ``PORT``."""
    return _alias_of(field_name)


#: Variables read by something other than :class:`Settings` (tests, the benchmark).
_READ_ELSEWHERE = frozenset(
    {"SCANBOT_TEST_POSTGRES_URL", "SCANBOT_UPDATE_GOLDEN", "SCANBOT_CHAOS_SEED"}
)


def _alias_of(field_name: str) -> str:
    alias = Settings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        first = alias.choices[0]
        return first if isinstance(first, str) else field_name.upper()
    return field_name.upper()


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning per ``SCANBOT_``/``PRISMA_``/``SLACK_`` variable that no setting reads
    (a misspelling is silently ignored otherwise), with the closest known name."""
    known = sorted({_alias_of(name) for name in Settings.model_fields} | _READ_ELSEWHERE)
    warnings: list[str] = []
    for key in sorted(environ):
        name = key.upper()
        if not name.startswith(("SCANBOT_", "PRISMA_", "SLACK_")) or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"the environment variable {key} is not a scanbot setting: ignored{hint}")
    return warnings


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    only: Collection[str] | None = None,
    **overrides: object,
) -> Settings:
    """Build :class:`Settings` from ``environ`` (default: the process environment).

    ``only`` names the fields a command reads (e.g. ``sandbox-console`` reads only the log
    settings): an invalid value of any other variable is then ignored and that field keeps its
    default, so a bad ``PORT`` cannot stop a command that never listens on it.
    ``overrides`` take field names (``scanbot_poll_seconds=1``) and win over the environment;
    tests and the demo use them.  Raises :class:`SettingsError` naming the variable.
    """
    source = os.environ if environ is None else environ
    known = {_alias_of(name) for name in Settings.model_fields}
    values: dict[str, object] = {
        key.upper(): value
        for key, value in source.items()
        if key.upper() in known and value.strip() != ""
    }
    wanted = tuple(name for name in FILE_VARIABLES if only is None or name.lower() in only)
    try:
        values.update(values_from_files(source, names=wanted))
    except SecretFileError as error:
        raise SettingsError(f"invalid configuration: {error}") from None
    for name, value in overrides.items():
        if name not in Settings.model_fields:
            raise TypeError(f"unknown setting {name!r}")
        values[_alias_of(name)] = value
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        errors = [(_field_of(error["loc"]), error["msg"]) for error in exc.errors()]
    if only is not None:
        unused = {field for field, _ in errors if field not in only}
        errors = [(field, msg) for field, msg in errors if field in only]
        if not errors:
            kept = {key: value for key, value in values.items() if _field_of((key,)) not in unused}
            try:
                return Settings.model_validate(kept)
            except ValidationError as again:  # cannot happen: only valid values are left
                errors = [(_field_of(error["loc"]), error["msg"]) for error in again.errors()]
    problems = [
        f"{_alias_of(field) if field in Settings.model_fields else field}: {_plain_message(msg)}"
        for field, msg in errors
    ]
    raise SettingsError("invalid configuration: " + "; ".join(problems))


def _field_of(loc: tuple[int | str, ...]) -> str:
    """The field name behind an error location (an alias such as ``PORT`` or a field name)."""
    name = str(loc[0]) if loc else "?"
    lowered = name.lower()
    return lowered if lowered in Settings.model_fields else name


def _plain_message(message: str) -> str:
    """pydantic's message without its "Value error, " / "Assertion failed, " prefix."""
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message
