"""The options several commands share, each defined once: one name per concept, a metavar that
says what goes there, and the same help wherever it appears.

No `from __future__ import annotations` (see bundler/cli/app.py): typer reads these at run time.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

import typer

# --gpg and --format take one of these; typer refuses anything else with a usage error.
GpgChoice = Literal["auto", "require", "off"]  # bundler.fetch.keys.GpgMode
FormatChoice = Literal["tar", "tar.gz"]  # bundler.pack.bundle.Format


def choices(values: Iterable[str]) -> str:
    """The metavar of an option that takes one of a few words: [a|b|c]."""
    return f"[{'|'.join(values)}]"


Debug = Annotated[bool, typer.Option("--debug", help="Tracebacks on errors.")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Bundle = Annotated[
    Path,
    typer.Argument(metavar="BUNDLE", help="A bundle .tar/.tar.gz, or its unpacked folder."),
]
SealedBundle = Annotated[Path, typer.Argument(metavar="BUNDLE", help="A bundle .tar or .tar.gz.")]
Cluster = Annotated[
    Path, typer.Option("--cluster", metavar="FILE", help="The cluster inventory (cluster.toml).")
]
Storm = Annotated[
    str | None,
    typer.Option(
        "--storm", metavar="VERSION", help="Storm version, e.g. 0.9.5 (default: the inventory's)."
    ),
]
Zk = Annotated[
    str | None,
    typer.Option(
        "--zk", metavar="VERSION", help="ZooKeeper version, e.g. 3.4.6 (default: the inventory's)."
    ),
]
# The signer's gpg key (build --sign-with, sign --sign-with): an option build may leave out.
_SIGN_WITH = typer.Option(
    "--sign-with",
    metavar="KEYID",
    help="Sign the bundle with this gpg key (id, fingerprint or email); writes BUNDLE.asc.",
)
SignWith = Annotated[str, _SIGN_WITH]
MaybeSignWith = Annotated[str | None, _SIGN_WITH]
# The signer's public key, to check BUNDLE.asc: verify --signer-key (install.sh --signer-key).
SignerKey = Annotated[
    Path | None,
    typer.Option(
        "--signer-key",
        metavar="FILE",
        help="Also check BUNDLE.asc against the signer's public key(s) in this file.",
    ),
]
