"""`bundler sbom`: the bundle's SBOM (CycloneDX JSON), as carried inside it."""

import sys

from bundler.cli.options import Bundle, Debug
from bundler.cli.steps import _run


def sbom_command(bundle: Bundle, debug: Debug = False) -> None:
    """Print the bundle's SBOM (CycloneDX JSON), as carried inside it."""
    from bundler.pack import sbom

    sys.stdout.write(_run(debug, lambda: sbom.read(bundle)).decode("utf-8"))
