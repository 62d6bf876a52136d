"""The floors of docs/architecture.md, checked on every import in ``bot/``.

Imports inside functions count too: a lazy import crosses a boundary all the same.  A module
may import its own floor and the floors below it, never one above.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

#: Lowest first.  Each floor is a tuple of path prefixes relative to the repository.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("domain", ("bot/domain/",)),
    ("config", ("bot/config/",)),
    ("process", ("bot/process/",)),
    ("console", ("bot/console/",)),
    ("store", ("bot/store/",)),
    ("delivery", ("bot/delivery/",)),
    ("watcher", ("bot/watcher/",)),
    ("ops", ("bot/ops/",)),
    ("slack", ("bot/slack/",)),
    ("entry points", ("bot/runtime.py", "bot/server.py", "bot/cli/", "bot/__main__.py")),
    #: ``scanbot demo`` and the stand-ins: they drive the bot from outside, as the tests do.
    ("harness", ("bot/sandbox/", "bot/demo/")),
]
#: Imported by anyone: the package's version.
EVERYONE = ("bot/__init__.py",)


def _floor(path: str) -> int | None:
    for index, (_name, prefixes) in enumerate(FLOORS):
        if path.startswith(prefixes):
            return index
    return None


def _module_path(module: str) -> str:
    """``bot.domain.images`` → ``bot/domain/images.py`` (or the package's ``__init__.py``)."""
    base = module.replace(".", "/")
    for candidate in (base + ".py", base + "/__init__.py"):
        if (ROOT / candidate).exists():
            return candidate
    return base + "/"


def _imports() -> list[tuple[str, str]]:
    """(module path relative to the repo, imported module) for every import in bot/.

    ``from bot.x import y`` counts as importing ``bot.x.y`` too when ``y`` is a module.
    """
    found: list[tuple[str, str]] = []
    for path in sorted(BOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=relative)):
            if isinstance(node, ast.Import):
                found.extend((relative, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((relative, node.module))
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    if (ROOT / _module_path(child)).exists():
                        found.append((relative, child))
    return found


def _offenders(allowed: Callable[[str], bool], imported: Callable[[str], bool]) -> list[str]:
    return [
        f"{path} imports {module}"
        for path, module in _imports()
        if imported(module) and not allowed(path)
    ]


def _is(prefix: str) -> Callable[[str], bool]:
    return lambda module: module == prefix or module.startswith(prefix + ".")


def test_the_rules_see_imports() -> None:
    """Guard against a checker that passes because it finds nothing."""
    modules = {module for _path, module in _imports()}
    assert {"httpx", "slack_bolt", "bot.slack", "bot.domain.events", "bot.store.codec"} <= modules


def test_every_module_in_bot_lives_on_a_floor() -> None:
    """Nothing loose at the top of ``bot/`` but the entry points and the version."""
    unplaced = [
        path.relative_to(ROOT).as_posix()
        for path in sorted(BOT.rglob("*.py"))
        if _floor(path.relative_to(ROOT).as_posix()) is None
        and path.relative_to(ROOT).as_posix() not in EVERYONE
    ]
    assert unplaced == []


def test_no_import_runs_from_a_lower_floor_to_a_higher_one() -> None:
    upward = []
    for path, module in _imports():
        if not module.startswith("bot."):
            continue
        here, there = _floor(path), _floor(_module_path(module))
        if here is None or there is None or there <= here:
            continue
        if path.startswith("bot/cli/") and FLOORS[there][0] == "harness":
            continue  # ``scanbot demo`` and ``sandbox-console`` load the harness lazily
        upward.append(f"{path} ({FLOORS[here][0]}) imports {module} ({FLOORS[there][0]})")
    assert upward == []


def test_the_domain_imports_only_the_domain_and_the_standard_library() -> None:
    stdlib = sys.stdlib_module_names | {"__future__"}
    outside = [
        f"{path} imports {module}"
        for path, module in _imports()
        if path.startswith("bot/domain/")
        and not _is("bot.domain")(module)
        and module.split(".")[0] not in stdlib
    ]
    assert outside == []


def test_slack_sdk_and_bolt_are_imported_only_under_bot_slack_and_the_entry_points() -> None:
    def slack(module: str) -> bool:
        return _is("slack_sdk")(module) or _is("slack_bolt")(module)

    def allowed(path: str) -> bool:
        entry_points = ("bot/server.py",)
        return path.startswith(("bot/slack/", "bot/sandbox/", "bot/demo/", *entry_points))

    assert _offenders(allowed, slack) == []


def test_httpx_is_imported_only_by_the_console_client() -> None:
    allowed = ("bot/console/", "bot/sandbox/", "bot/demo/")
    assert _offenders(lambda p: p.startswith(allowed), _is("httpx")) == []


@pytest.mark.parametrize("forbidden", ["bot.slack", "bot.sandbox", "bot.runtime", "bot.server"])
def test_the_watcher_decides_without_knowing_slack(forbidden: str) -> None:
    assert _offenders(lambda p: not p.startswith("bot/watcher/"), _is(forbidden)) == []


def test_runtime_code_never_imports_the_sandbox_or_the_demo() -> None:
    """The simulated console and Slack stand-in are for the CLI's demo commands and tests."""

    def allowed(path: str) -> bool:
        return path.startswith(("bot/sandbox/", "bot/demo/", "bot/cli/"))

    assert _offenders(allowed, lambda m: _is("bot.sandbox")(m) or _is("bot.demo")(m)) == []


def test_the_product_never_imports_the_benchmark() -> None:
    """``bench/`` runs from a checkout; the wheel and the Docker image ship ``bot/`` only."""
    assert _offenders(lambda _path: False, _is("bench")) == []
