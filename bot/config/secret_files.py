"""Secrets read from files: ``<NAME>_FILE`` names a file holding the value of ``<NAME>``.

As the official PostgreSQL image does, each secret may come from a file (a Kubernetes
Secret or Docker secret mounted read-only) instead of the environment, so it never sits in
the process's environment or in ``docker inspect``.  Setting both is refused (which one
wins would be a guess); a file that cannot be read is refused with the variable named,
never its content; one trailing newline (as ``echo`` and editors leave) is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

#: The variables that may also come from ``<NAME>_FILE``.
FILE_VARIABLES = (
    "PRISMA_PASSWORD",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SCANBOT_DATABASE_URL",
)

#: Larger than any token, password or URL; a bigger file is the wrong file.
MAX_SECRET_BYTES = 64 * 1024


class SecretFileError(ValueError):
    """A ``<NAME>_FILE`` cannot be used; the message names the variable, never the secret."""


def values_from_files(
    environ: Mapping[str, str], *, names: tuple[str, ...] = FILE_VARIABLES
) -> dict[str, str]:
    """``{NAME: value}`` for each ``NAME_FILE`` set (non-empty) in ``environ``.

    Raises :class:`SecretFileError` (every problem in one message) when ``NAME`` is set
    too, or the file is missing, unreadable, too large, not text or empty.
    """
    upper = {key.upper(): value for key, value in environ.items() if value.strip() != ""}
    values: dict[str, str] = {}
    problems: list[str] = []
    for name in names:
        path = upper.get(f"{name}_FILE")
        if path is None:
            continue
        if name in upper:
            problems.append(f"{name} and {name}_FILE are both set: set only one of them")
            continue
        try:
            values[name] = _read(Path(path))
        except SecretFileError as error:
            problems.append(f"{name}_FILE: {error}")
    if problems:
        raise SecretFileError("; ".join(problems))
    return values


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SecretFileError(f"cannot read {path} ({reason})") from None
    if len(raw) > MAX_SECRET_BYTES:
        raise SecretFileError(f"{path} is larger than {MAX_SECRET_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFileError(f"{path} is not UTF-8 text") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if text.strip() == "":
        raise SecretFileError(f"{path} is empty")
    return text
