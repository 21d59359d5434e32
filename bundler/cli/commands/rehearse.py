"""`bundler rehearse`: a bundle installed on throwaway namespaced hosts, checked, removed."""

from pathlib import Path
from typing import Annotated

import typer

from bundler.cli.options import Debug
from bundler.cli.steps import _run


def rehearse_command(
    bundle: Annotated[
        Path,
        typer.Argument(metavar="BUNDLE", help="The sealed bundle .tar, as it will be carried."),
    ],
    host: Annotated[
        list[str] | None,
        typer.Option(
            "--host", metavar="HOST", help="Rehearse only this inventory host; repeatable."
        ),
    ] = None,
    smoke: Annotated[
        bool,
        typer.Option(
            "--smoke",
            help="Also run `stormctl smoke`: the bundle's example topology must ack tuples.",
        ),
    ] = False,
    debug: Debug = False,
) -> None:
    """Install a bundle on throwaway namespaced hosts (root, Linux), show health, remove it."""
    from bundler.tools.rehearse import rehearse, text

    report = _run(debug, lambda: rehearse(bundle, list(host or []), smoke))
    print(text(report), end="")
    raise SystemExit(report.exit_code)
