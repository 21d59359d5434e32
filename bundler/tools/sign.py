"""The operator's signature over a bundle: `NAME.tar.asc`, a detached ASCII-armoured signature.

Signing uses the operator's own gpg set-up (GNUPGHOME, agent, smartcard), so it runs with the
user's environment. Checking uses a throwaway keyring holding only the KEYS file given, like
the release checks: nothing else the machine trusts can vouch for a bundle.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path

from bundler.errors import BundlerError, SignatureError, UnknownSignerError, UsageError
from bundler.fetch.signatures import Keyring, SignatureResult, gpg_path


def signature_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".asc")


def _gpg() -> str:
    gpg = gpg_path()
    if gpg is None:
        raise BundlerError("gpg is not installed; install gnupg to sign or check bundles")
    return gpg


def check_key(key: str) -> None:
    """Fail before a build starts, not after it, when gpg has no secret key `key`."""
    if not key or key.startswith("-"):
        raise UsageError(f"--sign-with {key!r}: expected a key id, fingerprint or email")
    proc = subprocess.run(
        [_gpg(), "--batch", "--list-secret-keys", key], capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise UsageError(
            f"--sign-with {key}: gpg has no secret key by that id; "
            "list yours with `gpg --list-secret-keys`"
        )


def sign(bundle: Path, key: str) -> Path:
    """Write BUNDLE.asc signed by `key` (an id, fingerprint or email gpg knows), atomically."""
    if not bundle.is_file():
        raise UsageError(f"{bundle}: no such file; expected a bundle .tar or .tar.gz")
    if not key or key.startswith("-"):
        raise UsageError(f"--sign-with {key!r}: expected a key id, fingerprint or email")
    dest = signature_path(bundle)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        proc = subprocess.run(
            [_gpg(), "--batch", "--yes", "--armor", "--local-user", key,
             "--output", str(tmp), "--detach-sign", str(bundle)],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if proc.returncode != 0 or tmp.stat().st_size == 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise BundlerError(
                f"gpg could not sign {bundle.name} with key {key!r}: {last}; "
                "check `gpg --list-secret-keys` and the key's passphrase"
            )
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return dest


def check(bundle: Path, keys: Path) -> SignatureResult:
    """The operator's signature over the archive, against the keys in `keys` only."""
    if not keys.is_file():
        raise UsageError(
            f"--signer-key {keys}: no such file; expected the operator's public key(s)"
        )
    if bundle.is_dir():
        raise UsageError(
            f"{bundle}: a signature covers the archive; give the .tar (with its .asc beside it)"
        )
    asc = signature_path(bundle)
    if not asc.is_file():
        raise SignatureError(
            f"{bundle.name}: no signature {asc.name} beside it; copy it with the bundle, "
            "or sign it with `bundler sign`"
        )
    with Keyring([keys], _gpg()) as ring:
        try:
            return ring.verify(asc, bundle, bundle.name)
        except UnknownSignerError as exc:
            raise SignatureError(
                f"{bundle.name} is signed by key {exc.key}, which is not in {keys}; "
                "do not use this bundle (or pass the operator's public key with --signer-key)"
            ) from None
