"""`bundler`, `bundler --help` and `bundler --version` are answered by bundler.cli.entry without
typer; what they print must be what typer and click would print, at every terminal width."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from bundler import __version__
from bundler.cli import entry
from bundler.cli.app import app
from bundler.cli.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]

# The typer path, as `bundler.cli.app.main` runs it for every other command.
TYPER = "import sys; sys.argv[0] = {prog!r}; from bundler.cli.app import main; main()"
ENTRY = "import sys; sys.argv[0] = {prog!r}; from bundler.cli.entry import main; main()"


def _click_help(prog: str, columns: int, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    group = typer.main.get_command(app)
    ctx = group.make_context(prog, ["--help"], resilient_parsing=True)
    return group.get_help(ctx) + "\n"


@pytest.mark.parametrize("columns", [1, 40, 52, 60, 70, 79, 80, 81, 120, 1000])
def test_the_overview_is_clicks_at_every_width(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _click_help("bundler", columns, monkeypatch)
    assert entry.overview("bundler", entry._width()) == expected


def test_every_command_is_listed_with_its_line() -> None:
    group = typer.main.get_command(app)
    assert list(group.commands) == list(COMMANDS)  # type: ignore[attr-defined]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.short_help == COMMANDS[name].summary
        assert command.help  # its own page: the docstring


def test_python_dash_m_names_itself_as_click_does(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = _python(["-m", "bundler", "--help"], 80)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == _click_help("python -m bundler", 80, monkeypatch)


def _run(code: str, args: list[str], columns: int | None) -> subprocess.CompletedProcess[str]:
    return _python(["-c", code, *args], columns)


def _python(argv: list[str], columns: int | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("prog", "args", "columns"),
    [
        ("/usr/local/bin/bundler", ["--help"], None),
        ("bundler", [], None),
        ("bundler", ["--help"], 55),
        ("bundler", ["--version"], None),
        # Too long for one usage line: handed to click, which wraps it.
        ("/opt/" + "b" * 60, ["--help"], 80),
        # Not ASCII: handed to click, which writes it whatever the output's encoding.
        ("/opt/b\u00fcndler", ["--help"], None),
    ],
    ids=["help", "no-args", "narrow", "version", "long-name", "non-ascii-name"],
)
def test_the_console_script_prints_what_typer_prints(
    prog: str, args: list[str], columns: int | None
) -> None:
    ours = _run(ENTRY.format(prog=prog), args, columns)
    theirs = _run(TYPER.format(prog=prog), args, columns)
    assert (ours.returncode, ours.stdout, ours.stderr) == (0, theirs.stdout, "")
    assert theirs.returncode == 0


def test_a_closed_stdout_is_no_error() -> None:
    """`bundler --help >&-`: nothing to print to, exit 0, as click does."""
    code = ENTRY.format(prog="bundler")
    proc = subprocess.run(
        ["sh", "-c", 'exec "$0" -c "$1" --help >&-', sys.executable, code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, "")


def test_version_line() -> None:
    proc = _run(ENTRY.format(prog="bundler"), ["--version"], None)
    assert proc.stdout == f"bundler {__version__}\n"


def test_anything_else_goes_to_typer() -> None:
    proc = _run(ENTRY.format(prog="bundler"), ["--no-such-option"], None)
    assert proc.returncode == 2
    assert "bundler: usage error: No such option: --no-such-option" in proc.stderr
