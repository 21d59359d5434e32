"""The streamed signature check against real gpg, for the key types and digests Apache's
releases have used (DSA with SHA-1 in the early years, RSA with SHA-256 or SHA-512, EdDSA):
framed as a signed message it agrees with the detached check, refuses a flipped byte, names an
unknown signer, and leaves what it cannot frame (or an armor gpg would read differently) to the
detached way."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.errors import SignatureError, UnknownSignerError
from bundler.fetch.openpgp import PART, Framing
from bundler.fetch.signatures import Keyring

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="needs gpg (make deps)")

KEYS = {"eddsa": "ed25519", "rsa": "rsa2048", "dsa": "dsa2048"}
CASES = [("eddsa", "SHA256"), ("rsa", "SHA512"), ("rsa", "SHA256"), ("dsa", "SHA1")]
SIZE = 3 * (1 << PART) + 12345  # several partial bodies and a definite tail


def _gpg(home: Path, *args: str) -> str:
    proc = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback",
         "--passphrase", "", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout


@pytest.fixture(scope="module")
def signers() -> Iterator[tuple[Path, dict[str, str], Path]]:
    """A gpg home with one key per type, the public KEYS of all, and a stranger's home."""
    home = Path(tempfile.mkdtemp(prefix="gpg-sig-", dir="/tmp"))
    stranger = Path(tempfile.mkdtemp(prefix="gpg-stranger-", dir="/tmp"))
    try:
        home.chmod(0o700)
        stranger.chmod(0o700)
        fingerprints = {}
        for name, algo in KEYS.items():
            uid = f"{name} <{name}@example.invalid>"
            _gpg(home, "--quick-gen-key", uid, algo, "sign", "never")
            listing = _gpg(home, "--with-colons", "--list-keys", f"{name}@example.invalid")
            fingerprints[name] = next(
                line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
            )
        _gpg(stranger, "--quick-gen-key", "stranger <s@example.invalid>", "ed25519", "sign")
        keys = home / "KEYS"
        keys.write_text(_gpg(home, "--armor", "--export"))
        yield home, fingerprints, stranger
    finally:
        for h in (home, stranger):
            subprocess.run(["gpgconf", "--homedir", str(h), "--kill", "gpg-agent"], check=False)
            shutil.rmtree(h, ignore_errors=True)


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "apache-storm-9.9.9.tar.gz"
    path.write_bytes(os.urandom(SIZE))
    return path


def _sign(home: Path, document: Path, key: str, digest: str, *extra: str) -> Path:
    asc = document.with_name(f"{document.name}.{key}.{digest}.asc")
    _gpg(home, "--yes", "--local-user", f"{key}@example.invalid", "--digest-algo", digest,
         "--armor", "--detach-sign", *extra, "--output", str(asc), str(document))  # fmt: skip
    return asc


def _streamed(ring: Keyring, asc: Path, data: bytes) -> str:
    stream = ring.stream(asc, "doc")
    for start in range(0, len(data), 300_007):  # odd chunks, as a socket gives them
        stream.feed(data[start : start + 300_007])
    return stream.finish().fingerprint


@pytest.mark.parametrize(("key", "digest"), CASES, ids=[f"{k}-{d}" for k, d in CASES])
def test_framed_check_agrees_with_the_detached_one(
    signers: tuple[Path, dict[str, str], Path], document: Path, key: str, digest: str
) -> None:
    home, fingerprints, _ = signers
    asc = _sign(home, document, key, digest)
    assert Framing.of(asc.read_bytes()) is not None  # the fast way is the one under test
    data = document.read_bytes()
    with Keyring([home / "KEYS"], "gpg") as ring:
        assert ring.verify(asc, document, "doc").fingerprint == fingerprints[key]
        assert _streamed(ring, asc, data) == fingerprints[key]
        flipped = bytearray(data)
        flipped[SIZE // 2] ^= 0x01
        with pytest.raises(SignatureError, match="BAD signature"):
            _streamed(ring, asc, bytes(flipped))
        with pytest.raises(SignatureError, match="BAD signature"):
            _streamed(ring, asc, data[:-1])  # one byte short


def test_a_binary_signature_file_is_framed_and_checked(
    signers: tuple[Path, dict[str, str], Path], document: Path
) -> None:
    home, fingerprints, _ = signers
    sig = document.with_name(f"{document.name}.sig")
    _gpg(home, "--local-user", "rsa@example.invalid", "--detach-sign", "--output", str(sig),
         str(document))  # fmt: skip
    assert Framing.of(sig.read_bytes()) is not None
    with Keyring([home / "KEYS"], "gpg") as ring:
        assert _streamed(ring, sig, document.read_bytes()) == fingerprints["rsa"]


def test_an_unknown_signer_is_named_when_framed(
    signers: tuple[Path, dict[str, str], Path], document: Path
) -> None:
    home, _, stranger = signers
    asc = _sign(stranger, document, "s", "SHA256")
    with Keyring([home / "KEYS"], "gpg") as ring, pytest.raises(UnknownSignerError):
        _streamed(ring, asc, document.read_bytes())


def test_what_cannot_be_framed_is_checked_detached(
    signers: tuple[Path, dict[str, str], Path], document: Path
) -> None:
    home, fingerprints, _ = signers
    data = document.read_bytes()
    # Two release managers' signatures in one file, and a canonical-text signature.
    both = document.with_name(f"{document.name}.both.asc")
    both.write_bytes(
        _sign(home, document, "rsa", "SHA512").read_bytes()
        + _sign(home, document, "eddsa", "SHA256").read_bytes()
    )
    text = _sign(home, document, "rsa", "SHA256", "--textmode")
    for asc in (both, text):
        assert Framing.of(asc.read_bytes()) is None
    # A good signature and a stranger's block under another armor label: gpg reads both.
    stranger_block = _sign(signers[2], document, "s", "SHA256").read_bytes()
    mixed = document.with_name(f"{document.name}.mixed.asc")
    mixed.write_bytes(
        _sign(home, document, "eddsa", "SHA256").read_bytes()
        + stranger_block.replace(b"SIGNATURE", b"MESSAGE")
    )
    assert Framing.of(mixed.read_bytes()) is None
    with Keyring([home / "KEYS"], "gpg") as ring:
        assert _streamed(ring, both, data) in (fingerprints["rsa"], fingerprints["eddsa"])
        assert _streamed(ring, text, data) == fingerprints["rsa"]
        with pytest.raises(SignatureError):
            _streamed(ring, mixed, data)  # as the detached check says
        with pytest.raises(SignatureError):
            ring.verify(mixed, document, "doc")
        flipped = bytearray(data)
        flipped[7] ^= 0x80
        with pytest.raises(SignatureError):
            _streamed(ring, both, bytes(flipped))
