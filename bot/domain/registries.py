"""Which registries the regular scan is busy with, from its step titles.

The console scans up to four registries at once and names them in each step's title:
``Step 1/2 discovering tags in registries a.example, b.example: Discovered ...`` (``in
registry a.example:`` for one).  Titles are untrusted: names are cut and counted.
"""

from __future__ import annotations

import re

from bot.domain.progress import Phase, ProgressSnapshot

_NAMED = re.compile(r"\bin registr(?:y|ies) ([^:;]{1,600}):")
MAX_NAMES = 8
MAX_NAME = 120


def busy_registries(title: str) -> tuple[str, ...]:
    """Registry names a step title says are busy, in order, without repeats."""
    names: dict[str, None] = {}
    for match in _NAMED.finditer(title):
        for name in match.group(1).split(","):
            cleaned = name.strip()[:MAX_NAME]
            if cleaned:
                names[cleaned] = None
    return tuple(names)[:MAX_NAMES]


def registry_lines(snap: ProgressSnapshot) -> list[str]:
    """One plain line per registry when the titles name several: what each is doing.

    While discovery runs, its title names the registries still discovering; the others the
    image step names are scanning.  Once discovery is done only the image step's title counts.
    """
    if snap.phase is Phase.DISCOVERING:
        discovering = busy_registries(snap.discovery.title)
    elif snap.phase is Phase.SCANNING:
        discovering = ()
    else:
        return []
    scanning = tuple(n for n in busy_registries(snap.image_scan.title) if n not in discovering)
    if len(discovering) + len(scanning) < 2:
        return []
    lines = [f"{name}: discovering tags" for name in discovering]
    return lines + [f"{name}: scanning images" for name in scanning]
