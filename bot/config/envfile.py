"""``--env-file``: settings from a file of ``VARIABLE=value`` lines (``scanbot.env``).

The format is the one ``docker run --env-file``, Docker Compose's ``env_file`` and bash
(``set -a; . scanbot.env``) all read alike: one ``VARIABLE=value`` per line; blank lines
and lines starting with ``#`` are skipped; an ``export`` before the name is allowed; a
value may be quoted (``'…'`` or ``"…"``, the quotes are not part of it); an unquoted
value ends before a `` #`` comment.  Variables already set in the environment win over
the file, so ``PORT=4000 scanbot run --env-file scanbot.env`` listens on 4000.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bot.config.settings import SettingsError

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_DOUBLE_ESCAPE = re.compile(r'\\([\\"$`])')


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The variables of ``path``; raises :class:`SettingsError` naming the file (and the
    line) when it cannot be read or a line is not ``VARIABLE=value``."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SettingsError(f"--env-file {name}: cannot read it ({reason})") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        value = _value(match.group(2)) if match else None
        if match is None or value is None:
            raise SettingsError(
                f"--env-file {name} line {number}: expected VARIABLE=value "
                "(quote a value with spaces: NAME='a b')"
            )
        values[match.group(1)] = value
    return values


def _value(raw: str) -> str | None:
    """The value after ``=``: quotes removed, or cut before a `` #`` comment; ``None`` for
    an unterminated quote or text after the closing one."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = _closing(raw, quote)
        if end is None:
            return None
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            return None
        inner = raw[1:end]
        return _DOUBLE_ESCAPE.sub(r"\1", inner) if quote == '"' else inner
    comment = re.search(r"\s#", raw)
    return raw[: comment.start()].rstrip() if comment else raw


def _closing(raw: str, quote: str) -> int | None:
    at = 1
    while at < len(raw):
        if raw[at] == "\\" and quote == '"':
            at += 2
            continue
        if raw[at] == quote:
            return at
        at += 1
    return None
