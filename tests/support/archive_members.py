"""Archive members: those of a bundle for the tests of bundle.write_archive in both tiers (a lead
artifact of random bytes, more than one copy chunk and not a multiple of 512, verified in this
build, and a few small members), and a tarball's members read back by name."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

from bundler.fetch.cache import fingerprint
from bundler.pack.bundle import Member

PAYLOAD = os.urandom(3 * (1 << 20) + 123)  # more than one chunk, not a multiple of 512


def lead_artifact(tmp_path: Path) -> Path:
    """The lead artifact's file, tmp_path/artifact.tar.gz."""
    path = tmp_path / "artifact.tar.gz"
    path.write_bytes(PAYLOAD)
    return path


LEAD = "artifacts/artifact.tar.gz"


def archive_members(tmp_path: Path) -> list[Member]:
    """Four small members and the lead one (LEAD), verified in this build."""
    src = lead_artifact(tmp_path)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    small = [
        Member(name, name.encode() * 100, sha256=hashlib.sha256(name.encode() * 100).hexdigest())
        for name in ("SHA256SUMS", "bundle.json", "artifacts/artifact.tar.gz.asc", "zz/last")
    ]
    return [*small, Member(LEAD, src, sha256=sha, verified=fingerprint(src))]


def tar_members(tarball: Path) -> dict[str, tarfile.TarInfo]:
    """A tarball's members by name."""
    with tarfile.open(tarball) as tar:
        return {info.name: info for info in tar.getmembers()}
