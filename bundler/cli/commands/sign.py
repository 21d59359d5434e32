"""`bundler sign`: the operator's signature over a bundle, BUNDLE.asc."""

from bundler.cli.options import Debug, SealedBundle, SignWith
from bundler.cli.steps import _run

# Old spellings, still taken for one release, hidden from --help (bundler.cli.app warns).
RENAMED = {"--key": "--sign-with"}


def sign_command(bundle: SealedBundle, sign_with: SignWith, debug: Debug = False) -> None:
    """Sign a bundle with the operator's gpg key: writes BUNDLE.asc beside it."""
    from bundler.tools import sign as bundlesign

    print(_run(debug, lambda: bundlesign.sign(bundle, sign_with)))
