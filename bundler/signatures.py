"""OpenPGP signature checks with the system's gpg, in a throwaway keyring.

The keyring holds only the project's KEYS, imported fresh for each build, so nothing the user
trusts elsewhere (or a key a mirror slipped in) can vouch for a release.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bundler.errors import SignatureError


@dataclass(frozen=True)
class SignatureResult:
    fingerprint: str  # primary key fingerprint of the signer
    signer: str  # user id as gpg reports it


def gpg_path() -> str | None:
    return shutil.which("gpg") or shutil.which("gpg2")


class Keyring:
    """A temporary GNUPGHOME holding the given KEYS files only."""

    def __init__(self, keys_files: list[Path], gpg: str) -> None:
        self._gpg = gpg
        self._dir = tempfile.TemporaryDirectory(prefix="bundler-gpg-")
        home = Path(self._dir.name)
        home.chmod(0o700)
        self.home = home
        for keys in keys_files:
            proc = self._run(["--import", str(keys)])
            if proc.returncode not in (0, 2):  # 2: some blocks were not keys; KEYS has text
                raise SignatureError(f"gpg could not import {keys}: {proc.stderr.strip()}")

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self._gpg, "--homedir", str(self.home), "--batch", "--no-tty", *args],
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
        )

    def fingerprints(self) -> list[str]:
        proc = self._run(["--with-colons", "--list-keys"])
        return [line.split(":")[9] for line in proc.stdout.splitlines() if line.startswith("fpr:")]

    def verify(self, signature: Path, data: Path, what: str) -> SignatureResult:
        proc = self._run(["--status-fd", "1", "--verify", str(signature), str(data)])
        status: dict[str, list[str]] = {}
        for line in proc.stdout.splitlines():
            if line.startswith("[GNUPG:] "):
                word, *rest = line[9:].split(" ")
                status.setdefault(word, rest)
        if "BADSIG" in status:
            raise SignatureError(
                f"{what}: BAD signature ({signature.name}); the file was altered after signing"
            )
        if "NO_PUBKEY" in status:
            key = status["NO_PUBKEY"][0] if status["NO_PUBKEY"] else "?"
            raise SignatureError(
                f"{what}: signed by key {key}, which is not in the project's KEYS; "
                "do not use this file (or pass a KEYS that has the release manager's key)"
            )
        if proc.returncode != 0 or "VALIDSIG" not in status or "GOODSIG" not in status:
            reason = proc.stderr.strip().splitlines()[-1:] or ["no valid signature"]
            raise SignatureError(f"{what}: signature did not verify: {reason[0]}")
        valid = status["VALIDSIG"]
        # VALIDSIG <sig fpr> <date> <ts> <expire> <ver> <res> <pk algo> <hash> <class> <primary fpr>
        fingerprint = valid[-1] if len(valid) >= 10 else valid[0]
        signer = " ".join(status["GOODSIG"][1:])
        return SignatureResult(fingerprint=fingerprint, signer=signer)

    def close(self) -> None:
        self._dir.cleanup()

    def __enter__(self) -> Keyring:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
