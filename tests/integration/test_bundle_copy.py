"""bundle.write_archive's copy of members hashed earlier in the same build: no second hash of
the member while its stat fingerprint holds, copied by the kernel (copy_file_range) or, where
that is refused, by a plain copy; the archive's sha256 is always of the bytes written."""

from __future__ import annotations

import errno
import hashlib
import os
import tarfile
from pathlib import Path

import pytest

from bundler import bundle
from bundler.bundle import Member, write_archive
from bundler.cache import fingerprint
from bundler.errors import IntegrityError

PAYLOAD = os.urandom(3 * (1 << 20) + 123)  # more than one chunk, not a multiple of 512


def _source(tmp_path: Path) -> Path:
    path = tmp_path / "artifact.tar.gz"
    path.write_bytes(PAYLOAD)
    return path


def _check(dest: Path, digest: str) -> None:
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest
    with tarfile.open(dest) as tar:
        member = tar.extractfile("top/artifacts/artifact.tar.gz")
        assert member is not None and member.read() == PAYLOAD


def test_a_member_verified_in_this_build_is_copied_exactly(tmp_path: Path) -> None:
    src = _source(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    member = Member("artifacts/artifact.tar.gz", src, sha256=sha, verified=fingerprint(src))
    dest = tmp_path / "out.tar"
    _check(dest, write_archive(dest, "top", [member], 946684800))


def test_the_plain_copy_when_the_kernel_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(bundle.os, "copy_file_range", refuse)
    src = _source(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    member = Member("artifacts/artifact.tar.gz", src, sha256=sha, verified=fingerprint(src))
    dest = tmp_path / "out.tar"
    _check(dest, write_archive(dest, "top", [member], 946684800))


@pytest.mark.parametrize("verified", [True, False], ids=["verified", "trusted-cache"])
def test_the_plain_copy_when_the_kernel_copies_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verified: bool
) -> None:
    """Some filesystems answer copy_file_range with 0 bytes copied: not the end of the file."""
    monkeypatch.setattr(bundle.os, "copy_file_range", lambda *_: 0)
    src = _source(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    member = Member(
        "artifacts/artifact.tar.gz",
        src,
        sha256=sha,
        verified=fingerprint(src) if verified else None,
    )
    dest = tmp_path / "out.tar"
    _check(dest, write_archive(dest, "top", [member], 946684800))


def test_same_bytes_whichever_way_the_member_is_copied(tmp_path: Path) -> None:
    src = _source(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    fast, slow = tmp_path / "fast.tar", tmp_path / "slow.tar"
    trusted = Member("artifacts/artifact.tar.gz", src, sha256=sha, verified=fingerprint(src))
    hashed = Member("artifacts/artifact.tar.gz", src, sha256=sha)
    assert write_archive(fast, "top", [trusted], 1) == write_archive(slow, "top", [hashed], 1)
    assert fast.read_bytes() == slow.read_bytes()


def test_a_member_changed_since_it_was_verified_is_hashed_and_refused(tmp_path: Path) -> None:
    src = _source(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    verified = fingerprint(src)
    data = bytearray(PAYLOAD)
    data[5000] ^= 0xFF
    src.write_bytes(bytes(data))  # a new mtime and ctime: the fingerprint no longer holds
    member = Member("artifacts/artifact.tar.gz", src, sha256=sha, verified=verified)
    dest = tmp_path / "out.tar"
    with pytest.raises(IntegrityError, match="changed since it was verified"):
        write_archive(dest, "top", [member], 946684800)
    assert not dest.exists() and list(tmp_path.glob(".out.tar.*")) == []
