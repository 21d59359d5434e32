"""`bundler verify`: every file of a bundle against its manifest, and its signature."""

from bundler.cli.options import Bundle, Debug, SignerKey
from bundler.cli.steps import _run

# Old spellings, still taken for one release, hidden from --help (bundler.cli.app warns).
RENAMED = {"--keys": "--signer-key"}


def verify_command(bundle: Bundle, signer_key: SignerKey = None, debug: Debug = False) -> None:
    """Re-check every file of a bundle against its manifest and SHA256SUMS."""
    from bundler.tools.verify import verify

    if signer_key is not None:
        from bundler.tools import sign as bundlesign

        signed = _run(debug, lambda: bundlesign.check(bundle, signer_key))
        print(f"{bundle}: good signature by {signed.signer} (key {signed.fingerprint})")
    report = _run(debug, lambda: verify(bundle))
    print(f"{bundle}: OK ({report.name}: {report.files} files, {report.bytes} bytes)")
    print(f"{bundle}: {report.sidecar}")
