"""`bundler`, `bundler --help` and `bundler --version` are answered by bundler.cli.entry without
typer; what they print must be what typer and click would print, at every terminal width (the
console script itself, run in a subprocess: tests/integration/test_entry.py)."""

from __future__ import annotations

import pytest
import typer.main

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


def test_every_command_is_listed_with_its_line() -> None:
    group = typer.main.get_command(app)
    assert list(group.commands) == list(COMMANDS)  # type: ignore[attr-defined]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.short_help == COMMANDS[name].summary
        assert command.help  # its own page: the docstring
