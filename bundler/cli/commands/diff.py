"""`bundler diff`: what differs between two bundles, down to each host's config keys."""

from pathlib import Path
from typing import Annotated

import typer

from bundler.cli.options import Debug, Json
from bundler.cli.steps import _run


def diff_command(
    old: Annotated[
        Path,
        typer.Argument(metavar="OLD", help="The bundle installed now (.tar, .tar.gz, folder)."),
    ],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="The bundle to compare it with.")],
    cluster: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Inventory whose hosts' config keys to compare (default: cluster.json).",
        ),
    ] = None,
    as_json: Json = False,
    debug: Debug = False,
) -> None:
    """Versions, artifacts, wheels and each host's config keys that differ; exit 0 either way."""
    from bundler.tools.diff import as_json as diff_json
    from bundler.tools.diff import diff
    from bundler.tools.diff import text as diff_text

    report = _run(debug, lambda: diff(old, new, cluster))
    print(diff_json(report) if as_json else diff_text(report), end="")
