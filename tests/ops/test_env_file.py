"""``--env-file`` and the example file: the same values whoever reads them (scanbot, bash)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.envfile import read_env_file
from bot.config.settings import Settings, SettingsError, setting_name
from bot.sandbox.console import SandboxConsole
from tests.test_cli import clean_env, scanbot

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scanbot.env.example"


def test_the_example_sources_cleanly_in_bash_with_the_values_scanbot_reads() -> None:
    """Fails before: the unquoted cron line ran ``9`` as a command in bash."""
    names = [setting_name(field) for field in Settings.model_fields]
    script = (
        "set -a; . ./scanbot.env.example; set +a; "
        f"{sys.executable} -c 'import json, os, sys; "
        "print(json.dumps({n: os.environ.get(n) for n in sys.argv[1:]}))' " + " ".join(names)
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    sourced = json.loads(result.stdout)
    assert sourced == read_env_file(EXAMPLE)


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("A=plain", "plain"),
        ("A= spaced ", "spaced"),
        ("export A=exported", "exported"),
        ("A='0 9 * * 1-5'", "0 9 * * 1-5"),
        ('A="say \\"hi\\" #1"', 'say "hi" #1'),
        ("A=value # a comment", "value"),
        ("A='quoted' # a comment", "quoted"),
        ("A=", ""),
        ("A=x#y", "x#y"),
    ],
)
def test_env_file_lines(tmp_path: Path, line: str, value: str) -> None:
    path = tmp_path / "scanbot.env"
    path.write_text(f"# a comment\n\n{line}\n")
    assert read_env_file(path) == {"A": value}


@pytest.mark.parametrize("line", ["no equals sign", "A='unterminated", "A='x' y", "1A=x"])
def test_a_bad_line_is_refused_naming_the_file_and_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "scanbot.env"
    path.write_text(f"# first\n{line}\n")
    with pytest.raises(SettingsError, match=r"scanbot\.env line 2: expected VARIABLE=value"):
        read_env_file(path)


def test_check_reads_the_env_file_and_the_environment_wins(tmp_path: Path) -> None:
    """Fails before: ``--env-file`` was not an option (usage error, exit 2)."""
    with SandboxConsole().start() as console:
        path = tmp_path / "scanbot.env"
        path.write_text(
            f"PRISMA_CONSOLE_URL={console.url}\nPRISMA_USER=sandbox\n"
            "PRISMA_PASSWORD='sandbox-password'\n"
        )
        from_file = scanbot("check", "--env-file", str(path))
        overridden = scanbot(
            "check", "--env-file", str(path), env={"PRISMA_PASSWORD": "wrong-in-the-env"}
        )
    assert from_file.returncode == 0, from_file.stdout + from_file.stderr
    assert overridden.returncode == 2  # the environment's wrong password won
    assert "auth failed" in overridden.stdout


@pytest.mark.parametrize("command", ["run", "progress", "check"])
def test_a_missing_env_file_is_one_line(tmp_path: Path, command: str) -> None:
    result = scanbot(command, "--env-file", str(tmp_path / "nope.env"))
    assert result.returncode == 3
    shown = (result.stdout + result.stderr).strip()
    assert "--env-file" in shown
    assert "nope.env: cannot read it (No such file or directory)" in shown
    assert "Traceback" not in shown
