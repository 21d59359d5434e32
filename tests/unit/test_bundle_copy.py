"""bundle.write_archive's copy of members hashed earlier in the same build: no second hash of
the member while its stat fingerprint holds, copied by the kernel (copy_file_range) or, where
that is refused, by a plain copy; the archive's sha256 is always of the bytes written. (A full
disk and a bind mount, which need root: tests/integration/test_bundle_copy.py.)"""

from __future__ import annotations

import errno
import hashlib
import os
import tarfile
import tempfile
from pathlib import Path

import pytest

from bundler.errors import IntegrityError
from bundler.fetch.cache import fingerprint
from bundler.pack import bundle
from bundler.pack.bundle import Member, write_archive
from tests.support.archive_members import LEAD, PAYLOAD, archive_members, lead_artifact


def _check(dest: Path, digest: str) -> None:
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest
    with tarfile.open(dest) as tar:
        member = tar.extractfile("top/artifacts/artifact.tar.gz")
        assert member is not None and member.read() == PAYLOAD


def test_a_member_verified_in_this_build_is_copied_exactly(tmp_path: Path) -> None:
    src = lead_artifact(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    member = Member("artifacts/artifact.tar.gz", src, sha256=sha, verified=fingerprint(src))
    dest = tmp_path / "out.tar"
    _check(dest, write_archive(dest, "top", [member], 946684800))


def test_the_plain_copy_when_the_kernel_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    src = lead_artifact(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    member = Member("artifacts/artifact.tar.gz", src, sha256=sha, verified=fingerprint(src))
    dest = tmp_path / "out.tar"
    _check(dest, write_archive(dest, "top", [member], 946684800))


@pytest.mark.parametrize("verified", [True, False], ids=["verified", "trusted-cache"])
def test_the_plain_copy_when_the_kernel_copies_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verified: bool
) -> None:
    """Some filesystems answer copy_file_range with 0 bytes copied: not the end of the file."""
    monkeypatch.setattr(os, "copy_file_range", lambda *_: 0)
    src = lead_artifact(tmp_path)
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
    src = lead_artifact(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    fast, slow = tmp_path / "fast.tar", tmp_path / "slow.tar"
    trusted = Member("artifacts/artifact.tar.gz", src, sha256=sha, verified=fingerprint(src))
    hashed = Member("artifacts/artifact.tar.gz", src, sha256=sha)
    assert write_archive(fast, "top", [trusted], 1) == write_archive(slow, "top", [hashed], 1)
    assert fast.read_bytes() == slow.read_bytes()


def test_a_member_changed_since_it_was_verified_is_hashed_and_refused(tmp_path: Path) -> None:
    src = lead_artifact(tmp_path)
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


def _prefix(tmp_path: Path, *feeds: bytes, restart_after: int = 0) -> bundle.Prefix:
    """A Prefix in a folder of its own, fed in chunks; begun again after the first
    `restart_after` feeds, as a download that starts over."""
    folder = tmp_path / "staging"
    folder.mkdir()
    prefix = bundle.Prefix(folder, "top", LEAD)
    for i, data in enumerate(feeds, 1):
        for at in range(0, len(data), 100_000):
            prefix.feed(data[at : at + 100_000])
        if i == restart_after:
            prefix.restart()
    return prefix


def test_the_lead_member_comes_first_after_its_folders(tmp_path: Path) -> None:
    dest = tmp_path / "out.tar"
    write_archive(dest, "top", archive_members(tmp_path), 1, lead=LEAD)
    with tarfile.open(dest) as tar:
        names = tar.getnames()
    assert names[:3] == ["top", "top/artifacts", f"top/{LEAD}"]
    assert names[3:] == sorted(names[3:])


def test_an_archive_begun_while_its_lead_downloaded_is_the_same_archive(tmp_path: Path) -> None:
    members = archive_members(tmp_path)
    copied, streamed = tmp_path / "copied.tar", tmp_path / "streamed.tar"
    expected = write_archive(copied, "top", members, 946684800, lead=LEAD)
    # A first attempt cut short and begun again, then the whole member.
    prefix = _prefix(tmp_path, PAYLOAD[:1_000_000], PAYLOAD, restart_after=1)
    try:
        assert write_archive(streamed, "top", members, 946684800, "tar", LEAD, prefix) == expected
        assert not (tmp_path / "staging" / "top.tar").exists()  # it became the bundle
    finally:
        prefix.discard()
    assert streamed.read_bytes() == copied.read_bytes()
    assert streamed.stat().st_mode & 0o777 == 0o644
    assert not (tmp_path / "staging").exists()


@pytest.mark.parametrize("fed", [PAYLOAD[:-1], PAYLOAD + b"x"], ids=["short", "long"])
def test_a_begun_archive_of_another_size_is_not_used(tmp_path: Path, fed: bytes) -> None:
    members = archive_members(tmp_path)
    copied, streamed = tmp_path / "copied.tar", tmp_path / "streamed.tar"
    expected = write_archive(copied, "top", members, 946684800, lead=LEAD)
    prefix = _prefix(tmp_path, fed)
    try:
        assert write_archive(streamed, "top", members, 946684800, "tar", LEAD, prefix) == expected
        # Written anew beside the bundle; the begun one gave its space back at once.
        assert (tmp_path / "staging" / "top.tar").stat().st_size == 0
    finally:
        prefix.discard()
    assert streamed.read_bytes() == copied.read_bytes()
    assert not (tmp_path / "staging").exists()


def test_a_begun_archive_whose_lead_differs_from_its_hash_is_refused(tmp_path: Path) -> None:
    data = bytearray(PAYLOAD)
    data[2_000_000] ^= 0x01
    prefix = _prefix(tmp_path, bytes(data))
    dest = tmp_path / "out.tar"
    try:
        with pytest.raises(IntegrityError, match="written into the bundle while it downloaded"):
            write_archive(dest, "top", archive_members(tmp_path), 946684800, "tar", LEAD, prefix)
    finally:
        prefix.discard()
    assert not dest.exists() and list(tmp_path.glob(".out.tar.*")) == []
    assert not (tmp_path / "staging").exists()


def test_a_begun_archive_on_another_filesystem_is_not_used(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on a filesystem other than the test's folder")
    members = archive_members(tmp_path)
    copied, streamed = tmp_path / "copied.tar", tmp_path / "streamed.tar"
    expected = write_archive(copied, "top", members, 946684800, lead=LEAD)
    folder = Path(tempfile.mkdtemp(dir=shm))
    prefix = bundle.Prefix(folder, "top", LEAD)
    try:
        prefix.feed(PAYLOAD)
        assert write_archive(streamed, "top", members, 946684800, "tar", LEAD, prefix) == expected
    finally:
        prefix.discard()
    assert streamed.read_bytes() == copied.read_bytes()
    assert not folder.exists()


def test_a_prefix_is_never_used_for_a_gzipped_bundle(tmp_path: Path) -> None:
    members = archive_members(tmp_path)
    plain, gz = tmp_path / "plain.tar.gz", tmp_path / "prefixed.tar.gz"
    expected = write_archive(plain, "top", members, 1, "tar.gz", LEAD)
    prefix = _prefix(tmp_path, PAYLOAD)
    try:
        assert write_archive(gz, "top", members, 1, "tar.gz", LEAD, prefix) == expected
    finally:
        prefix.discard()
    assert gz.read_bytes() == plain.read_bytes()
