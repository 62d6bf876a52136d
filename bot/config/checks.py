"""Pure parsers and checks behind :mod:`bot.config.settings` (lists of Slack ids, cron, time zone).

Each raises :class:`ValueError` with a message that says how to fix the value; pydantic turns
it into a :class:`bot.config.settings.SettingsError` naming the variable.
"""

from __future__ import annotations

import importlib.util
import re
import zoneinfo

from bot.domain.permissions import NOBODY

# Slack ids: channels C…/G… (private, legacy)/D… (DM); users U…/W… (Enterprise Grid).
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _split(
    value: object, pattern: re.Pattern[str], what: str, example: str, *, nobody: str = ""
) -> object:
    if nobody and isinstance(value, str) and value.strip().lower() == nobody:
        return (nobody,)
    if isinstance(value, (list, tuple)):
        items = [str(item).strip() for item in value]
    elif isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    else:
        return value  # pydantic reports the wrong type
    ids: list[str] = []
    for item in items:
        if not item:
            continue
        if not pattern.fullmatch(item):
            raise ValueError(
                f"{item!r} is not a Slack {what} id: give comma-separated ids such as "
                f"{example} (names like #general or @alice do not work)"
            )
        if item not in ids:
            ids.append(item)
    if not ids and isinstance(value, str) and value.strip():
        also = f", or {nobody!r} for nobody" if nobody else ""
        raise ValueError(
            f"{value!r} holds no {what} ids: give comma-separated ids such as {example}, "
            f"leave it unset for none{also}"
        )
    return tuple(ids)


def split_channel_ids(value: object) -> object:
    """``"C012AB, G345CD"`` → ``("C012AB", "G345CD")``; refuses names such as ``#general``."""
    return _split(value, _CHANNEL_ID, "channel", "C0123ABCD (channel details > About)")


def split_user_ids(value: object) -> object:
    """``"U012AB,W345CD"`` → ``("U012AB", "W345CD")``; refuses names such as ``@alice``
    and a value without ids (``","``); ``none`` is ``("none",)``: a list naming nobody."""
    return _split(
        value, _USER_ID, "user", "U0123ABCD (profile > ⋮ > Copy member ID)", nobody=NOBODY
    )


def split_permission_channel_ids(value: object) -> object:
    """As :func:`split_channel_ids`, and ``none`` is ``("none",)``: a list naming nobody."""
    return _split(
        value, _CHANNEL_ID, "channel", "C0123ABCD (channel details > About)", nobody=NOBODY
    )


def check_cron(value: str) -> str:
    """A five-field crontab expression as APScheduler's ``CronTrigger.from_crontab`` reads it."""
    from apscheduler.triggers.cron import CronTrigger  # noqa: PLC0415 - only when set

    text = " ".join(value.split())
    try:
        CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not a crontab expression ({exc}): give five fields "
            "'minute hour day month weekday', e.g. '0 9 * * 1-5' for 09:00 on weekdays"
        ) from None
    return text


def check_timezone(value: str) -> str:
    """An IANA time zone name such as ``UTC`` or ``Europe/Berlin``."""
    name = value.strip()
    if name.upper() == "UTC":  # known without the system's time zone database
        return "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone: use an IANA name such as UTC, Europe/Berlin or "
            "America/New_York"
        ) from None
    return name


#: Database URL schemes scanbot runs on, and the forms it reads as one of them.
_DATABASE_SCHEMES = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",  # psycopg (3) is the driver scanbot ships with
    "postgres": "postgresql+psycopg",
}


def check_database_url(value: str) -> str:
    """A SQLite or PostgreSQL URL; ``postgresql://`` and ``postgres://`` use psycopg."""
    url = value.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _DATABASE_SCHEMES:
        shown = f"{scheme!r} is not supported" if sep else "is not a database URL"
        raise ValueError(
            f"{shown}: use sqlite:///scanbot.db (a file) or "
            "postgresql+psycopg://user:password@host/database"
        )
    scheme = _DATABASE_SCHEMES[scheme.lower()]
    if scheme.startswith("postgresql") and importlib.util.find_spec("psycopg") is None:
        raise ValueError("PostgreSQL needs the psycopg driver: pip install 'scanbot[postgres]'")
    return f"{scheme}://{rest}"
