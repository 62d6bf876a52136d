"""The package boundaries of docs/architecture.md, checked on every import in ``bot/``.

Imports inside functions count too: a lazy import crosses a boundary all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

#: Modules that start the process: they may wire Slack's adapters and the sandbox.
ENTRY_POINTS = {"bot/cli.py", "bot/server.py"}
#: ``scanbot demo`` and ``scanbot bench``: harnesses that drive the bot from outside, as the
#: tests do (sandbox, signed requests over httpx, a baseline bolt app); runtime code never
#: imports them.
HARNESS = "bot/demo/"


def _imports() -> list[tuple[str, str]]:
    """(module path relative to the repo, imported module) for every import in bot/."""
    found: list[tuple[str, str]] = []
    for path in sorted(BOT.rglob("*.py")):
        relative = path.relative_to(BOT.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=relative)):
            if isinstance(node, ast.Import):
                found.extend((relative, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.extend([(relative, node.module)])
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
    assert {"httpx", "slack_bolt", "bot.slack", "bot.notify"} <= modules


def test_slack_sdk_and_bolt_are_imported_only_under_bot_slack_and_the_entry_points() -> None:
    def slack(module: str) -> bool:
        return _is("slack_sdk")(module) or _is("slack_bolt")(module)

    def allowed(path: str) -> bool:
        return path.startswith(("bot/slack/", HARNESS)) or path in ENTRY_POINTS

    assert _offenders(allowed, slack) == []


def test_httpx_is_imported_only_by_the_console_client() -> None:
    assert _offenders(lambda p: p.startswith(("bot/console/", HARNESS)), _is("httpx")) == []


@pytest.mark.parametrize("forbidden", ["bot.slack", "bot.sandbox", "bot.runtime", "bot.server"])
def test_the_watcher_decides_without_knowing_slack(forbidden: str) -> None:
    assert _offenders(lambda p: not p.startswith("bot/watcher/"), _is(forbidden)) == []


@pytest.mark.parametrize(
    "module",
    ["bot/images.py", "bot/progress.py", "bot/watch.py", "bot/notify.py", "bot/services.py"],
)
def test_the_domain_modules_import_no_adapter(module: str) -> None:
    adapters = ("bot.slack", "bot.watcher", "bot.sandbox", "bot.runtime", "bot.server", "httpx")
    imported = [m for path, m in _imports() if path == module]
    assert [m for m in imported if any(_is(a)(m) for a in adapters)] == []


def test_runtime_code_never_imports_the_sandbox() -> None:
    """The simulated console and Slack stand-in are for the CLI's demo commands and tests."""

    def allowed(path: str) -> bool:
        return path.startswith(("bot/sandbox/", HARNESS)) or path == "bot/cli.py"

    assert _offenders(allowed, _is("bot.sandbox")) == []


def test_runtime_code_never_imports_the_demo_or_bench() -> None:
    assert _offenders(lambda p: p.startswith(HARNESS) or p == "bot/cli.py", _is("bot.demo")) == []
