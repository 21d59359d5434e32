"""`bundler`, `bundler --help` and `bundler --version` run as a console script and as
`python -m bundler` print what typer and click would print (bundler.cli.entry's pages at every
width: tests/unit/test_entry.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bundler import __version__
from tests.support.cli import click_help as _click_help

ROOT = Path(__file__).resolve().parents[2]

# The typer path, as `bundler.cli.app.main` runs it for every other command.
TYPER = "import sys; sys.argv[0] = {prog!r}; from bundler.cli.app import main; main()"
ENTRY = "import sys; sys.argv[0] = {prog!r}; from bundler.cli.entry import main; main()"


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
