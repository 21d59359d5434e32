"""`bundler split`: a bundle in parts, with NAME.parts and NAME.join.sh beside them."""

from typing import Annotated

import typer

from bundler.cli.options import Debug, SealedBundle
from bundler.cli.steps import _print_split, _run, _split


def split_command(
    bundle: SealedBundle,
    size: Annotated[
        str, typer.Option(metavar="SIZE", help="Largest part, e.g. 4095M (FAT32), 700M, 1G.")
    ],
    debug: Debug = False,
) -> None:
    """Write a bundle as NAME.tar.part-001... with NAME.parts and NAME.join.sh beside it."""
    from bundler.progress import Progress
    from bundler.tools.parts import parse_size

    part_size = _run(debug, lambda: parse_size(size))
    result = _run(debug, lambda: _split(bundle, part_size))
    _print_split(result, Progress())
    print(result.listing)
