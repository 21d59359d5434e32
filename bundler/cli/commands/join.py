"""`bundler join`: every part listed in NAME.parts checked, then the bundle rebuilt."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from bundler.cli.options import Debug
from bundler.cli.steps import _run

# Old spellings, still taken for one release, hidden from --help (bundler.cli.app warns).
RENAMED = {"--output": "--out"}


def join_command(
    listing: Annotated[
        Path, typer.Argument(metavar="NAME.parts", help="The NAME.parts file beside the parts.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Where to write the bundle (default: beside the parts)."),
    ] = None,
    debug: Debug = False,
) -> None:
    """Check every part listed in NAME.parts, then rebuild the exact bundle."""
    from bundler.tools.parts import join

    result = _run(debug, lambda: join(listing, out))
    state = "already there, unchanged" if result.already else f"joined from {result.parts} parts"
    print(f"{result.bundle}: {state}, sha256 {result.sha256}", file=sys.stderr)
    print(result.bundle)
