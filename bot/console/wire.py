"""Reading what the console sends, without HTTP: versions, error texts, Retry-After, matches.

Kept apart from :mod:`bot.console.client` so it stays pure and easy to test.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

from bot.console.errors import UnexpectedResponse
from bot.domain.images import ScanTarget
from bot.domain.text import truncate

DETAIL_MAX = 300
_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)")
_DOCKER_HUB = frozenset({"", "docker.io", "index.docker.io", "registry-1.docker.io"})


def api_version_of(version: str) -> str:
    """``"34.04.145"`` -> ``"v34.04"``; :class:`UnexpectedResponse` when not major.minor."""
    match = _VERSION.match(version)
    if match is None:
        raise UnexpectedResponse(f"the console's version {version[:40]!r} is not major.minor")
    return f"v{match.group(1)}.{match.group(2)}"


def version_tuple(version: str) -> tuple[int, int] | None:
    """``"30.01.153"`` -> ``(30, 1)``; None when the text does not start with major.minor."""
    match = _VERSION.match(version)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def error_detail(
    text: str, payload: object, redact: Callable[[str], str] = lambda text: text
) -> str:
    """The console's ``err`` text (``{"err": ...}``, a JSON string, or plain text), <=300 chars.

    ``redact`` runs *before* the text is folded and cut, so no part of a secret survives.
    """
    if isinstance(payload, dict) and isinstance(payload.get("err"), str):
        text = payload["err"]
    elif isinstance(payload, str):
        text = payload
    text = " ".join(redact(text).split())
    return truncate(text, DETAIL_MAX)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; None when absent/garbage."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def matches_target(item: object, target: ScanTarget) -> bool:
    """Does one ``shared.ImageScanResult`` describe ``target`` (repo, registry, tag, digest)?

    The names looked at are ``repoTag`` and every element of ``tags``; a digest also
    matches an element of ``repoDigests`` (``repo@sha256:...``).  Without a registry in
    the target, only Docker Hub entries match.
    """
    if not isinstance(item, dict):
        return False
    names: list[object] = [item.get("repoTag")]
    tags = item.get("tags")
    if isinstance(tags, list):
        names.extend(tags)
    digests = item.get("repoDigests")
    repo_digests = [d for d in digests if isinstance(d, str)] if isinstance(digests, list) else []
    return any(_name_matches(name, repo_digests, target) for name in names)


def _name_matches(name: object, repo_digests: list[str], target: ScanTarget) -> bool:
    if not isinstance(name, dict) or name.get("repo") != target.repo:
        return False
    registry = name.get("registry")
    if not _same_registry(registry if isinstance(registry, str) else "", target.registry):
        return False
    if target.tag is not None and name.get("tag") != target.tag:
        return False
    if target.digest is None:
        return True
    return name.get("digest") == target.digest or any(
        d == target.digest or d.endswith("@" + target.digest) for d in repo_digests
    )


def _same_registry(found: str, wanted: str | None) -> bool:
    host = found.lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if wanted is None:
        return host in _DOCKER_HUB
    return host == wanted.lower()
