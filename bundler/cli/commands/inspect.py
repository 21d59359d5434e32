"""`bundler inspect`: a bundle's components, sources, sizes, hashes and checks."""

import json
from typing import Annotated

import typer

from bundler.cli.options import Bundle, Debug
from bundler.cli.steps import _run


def inspect_command(
    bundle: Bundle,
    as_json: Annotated[bool, typer.Option("--json", help="The whole manifest as JSON.")] = False,
    debug: Debug = False,
) -> None:
    """Show a bundle's components, sources, sizes, hashes and how each was verified."""
    from bundler.tools.describe import read_provenance, text
    from bundler.tools.verify import read_manifest

    manifest = _run(debug, lambda: read_manifest(bundle))
    if as_json:
        print(json.dumps(manifest.to_json(), indent=2, sort_keys=True))
        return
    print(text(manifest, read_provenance(bundle)))
    if "sbom.cdx.json" in manifest.files:
        from bundler.pack import sbom

        print("\n".join(sbom.summary(_run(debug, lambda: sbom.read(bundle)))))
