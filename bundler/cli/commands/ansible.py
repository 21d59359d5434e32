"""`bundler ansible`: an Ansible project (inventory, site, upgrade, rollback) for a bundle."""

from pathlib import Path
from typing import Annotated

import typer

from bundler.cli.options import Debug
from bundler.cli.steps import _run


def ansible_command(
    cluster: Annotated[
        Path,
        typer.Option(metavar="FILE", help="The cluster inventory the bundle was built with."),
    ],
    bundle: Annotated[
        Path, typer.Option(metavar="BUNDLE", help="The bundle .tar (its .sha256 beside it).")
    ],
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="A new (or empty) folder for the Ansible project.")
    ],
    bundle_src: Annotated[
        str | None,
        typer.Option(
            "--bundle-src",
            metavar="PATH",
            help="The bundle's path as the playbooks see it (default: relative to --out).",
        ),
    ] = None,
    debug: Debug = False,
) -> None:
    """Write an Ansible project (inventory, site.yml, upgrade.yml, rollback.yml) for a bundle."""
    from bundler.tools.ansible import write_project

    written = _run(debug, lambda: write_project(cluster, bundle, out, bundle_src))
    for path in written:
        print(path)
