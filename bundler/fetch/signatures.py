"""OpenPGP signature checks with the system's gpg, in a throwaway keyring.

The keyring holds only the project's KEYS, imported fresh for each build, so nothing the user
trusts elsewhere (or a key a mirror slipped in) can vouch for a release.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bundler.errors import SignatureError, UnknownSignerError
from bundler.fetch.openpgp import Framing

_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


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
            self._argv(*args),
            capture_output=True,
            text=True,
            check=False,
            env=_ENV,
        )

    def _argv(self, *args: str) -> list[str]:
        return [self._gpg, "--homedir", str(self.home), "--batch", "--no-tty", *args]

    def verify(self, signature: Path, data: Path, what: str) -> SignatureResult:
        proc = self._run(["--status-fd", "1", "--verify", str(signature), str(data)])
        return _result(proc.returncode, proc.stdout, proc.stderr, signature, what)

    def stream(self, signature: Path, what: str) -> StreamingVerify:
        """A verifier fed the signed bytes as they arrive, so gpg runs beside the download:
        framed as a signed message when the signature allows it (bundler/fetch/openpgp.py says why),
        else as the data of the detached signature."""
        framing = Framing.of(signature.read_bytes())
        if framing is None:
            argv = self._argv("--status-fd", "1", "--verify", str(signature), "-")
        else:
            argv = self._argv("--status-fd", "1", "--verify")
        return StreamingVerify(argv, signature, what, framing)

    def close(self) -> None:
        self._dir.cleanup()

    def __enter__(self) -> Keyring:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StreamingVerify:
    def __init__(
        self, argv: list[str], signature: Path, what: str, framing: Framing | None = None
    ) -> None:
        self.signature = signature
        self.what = what
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_ENV,
        )
        assert self._proc.stdin is not None
        self._stdin = self._proc.stdin
        # A 1 MiB pipe instead of 64 KiB: a sixteenth of the wake-ups for the same bytes.
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux
            with contextlib.suppress(OSError):
                fcntl.fcntl(self._stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        self._literal = framing.writer(self._write) if framing is not None else None

    def _write(self, data: bytes | memoryview) -> None:
        # gpg may give up early (a broken signature file); finish() reports why.
        with contextlib.suppress(BrokenPipeError):
            self._stdin.write(data)

    def feed(self, chunk: bytes) -> None:
        if self._literal is not None:
            self._literal.feed(chunk)
        else:
            self._write(chunk)

    def finish(self) -> SignatureResult:
        if self._literal is not None:
            self._literal.close()
        out, err = self._proc.communicate()
        return _result(
            self._proc.returncode,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
            self.signature,
            self.what,
        )

    def abandon(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.communicate()


# gpg's status words for a signature whose bytes match but whose key may not be trusted now.
_KEY_STATES = {
    "REVKEYSIG": "revoked",
    "EXPKEYSIG": "expired",
    "EXPSIG": "an expired signature",
}


def _result(
    returncode: int, stdout: str, stderr: str, signature: Path, what: str
) -> SignatureResult:
    status: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if line.startswith("[GNUPG:] "):
            word, *rest = line[9:].split(" ")
            status.setdefault(word, rest)
    if "BADSIG" in status:
        raise SignatureError(
            f"{what}: BAD signature ({signature.name}); the file was altered after signing"
        )
    if "NO_PUBKEY" in status:
        key = status["NO_PUBKEY"][0] if status["NO_PUBKEY"] else "?"
        raise UnknownSignerError(
            f"{what}: signed by key {key}, which is not in the project's KEYS; "
            "do not use this file (or pass a KEYS that has the release manager's key)",
            key,
        )
    for word, what_key in _KEY_STATES.items():
        if word in status:
            key, *uid = status[word] or ["?"]
            raise SignatureError(
                f"{what}: signed by key {key} ({' '.join(uid) or 'no user id'}), which is "
                f"{what_key} (gpg {word}); do not use this file until the signer's key is "
                "renewed, or the file is signed again with a current key"
            )
    if returncode != 0 or "VALIDSIG" not in status or "GOODSIG" not in status:
        reason = stderr.strip().splitlines()[-1:] or ["no valid signature"]
        raise SignatureError(f"{what}: signature did not verify: {reason[0]}")
    valid = status["VALIDSIG"]
    # VALIDSIG <sig fpr> <date> <ts> <expire> <ver> <res> <pk algo> <hash> <class> <primary fpr>
    fingerprint = valid[-1] if len(valid) >= 10 else valid[0]
    return SignatureResult(fingerprint=fingerprint, signer=" ".join(status["GOODSIG"][1:]))
