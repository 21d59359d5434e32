"""`bundler`, `bundler --help` and `bundler --version` are answered by bundler.cli.entry without
typer; what they print must be what typer and click would print, at every terminal width (the
console script itself, run in a subprocess: tests/integration/test_entry.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

import bundler.cli.commands
from bundler.cli import entry
from bundler.cli.app import app
from bundler.cli.commands import COMMANDS
from tests.support.cli import click_help as _click_help


@pytest.mark.parametrize("columns", [1, 40, 52, 60, 70, 79, 80, 81, 120, 1000])
def test_the_overview_is_clicks_at_every_width(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _click_help("bundler", columns, monkeypatch)
    assert entry.overview("bundler", entry._width()) == expected


def test_every_command_module_is_a_listed_command_with_its_own_page() -> None:
    # A module added under bundler/cli/commands/ without its row would never run.
    folder = Path(bundler.cli.commands.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    assert modules == set(COMMANDS)
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help, name  # its own page: the docstring
