"""`bundler verify` and `bundler inspect`: read a bundle back and check it.

A bundle is checked in one pass over the archive: each member is hashed as it streams by,
and at the end the hashes are compared with the manifest (bundle.json) and SHA256SUMS.
Missing, extra, altered and unsafe entries are all integrity failures, and so is anything
damaged or cut short: a file that is not a tar, a tar with no manifest or no end-of-archive
marker, a manifest that is not JSON (exit 3). Only a manifest schema this bundler does not know
is a format error: that bundle is not damaged, it needs a newer bundler.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler.errors import BundleFormatError, IntegrityError, UsageError
from bundler.fetch.fanout import Fanout
from bundler.fetch.tarscan import safe_name
from bundler.pack.manifest import MANIFEST_FILE, SELF_DESCRIBED, SUMS_FILE, Manifest
from bundler.pack.provenance import path_for as provenance_path

CHUNK = 1 << 20


@dataclass
class BundleContents:
    top: str
    hashes: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    manifest_bytes: bytes | None = None
    sums: str = ""
    archive_sha256: str | None = None


class _HashingReader:
    """Hashes the whole archive on a thread of its own while members are hashed as read."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self._fanout = Fanout([self.sha256.update])
        self.size = 0
        self.tail = b""  # the last 1024 bytes: a whole tar ends with two zero blocks

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.raw.read(n)
        self._fanout.feed(data)
        self.size += len(data)
        self.tail = (self.tail + data)[-1024:]
        return data

    def hexdigest(self) -> str:
        self._fanout.close()
        return self.sha256.hexdigest()

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def _hash_stream(stream: Any) -> tuple[str, int, bytes | None]:
    """sha256 and size of a member; small members are also kept (manifest, sums)."""
    h = hashlib.sha256()
    size = 0
    kept = bytearray()
    while chunk := stream.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
        if size <= 16 << 20:
            kept += chunk
    return h.hexdigest(), size, bytes(kept) if size <= 16 << 20 else None


def _add(contents: BundleContents, rel: str, digest: str, size: int, data: bytes | None) -> None:
    contents.hashes[rel] = digest
    contents.sizes[rel] = size
    if rel == MANIFEST_FILE and data is not None:
        contents.manifest_bytes = data
    elif rel == SUMS_FILE and data is not None:
        contents.sums = data.decode("utf-8", "replace")


def read_archive(path: Path) -> BundleContents:
    if not path.exists():
        raise UsageError(f"{path}: no such file; expected a bundle .tar, .tar.gz or folder")
    if path.is_dir():
        return _read_dir(path)
    with open(path, "rb") as raw:
        reader = _HashingReader(raw)
        try:
            tar = tarfile.open(fileobj=reader, mode="r|*", bufsize=CHUNK)  # type: ignore[call-overload]  # noqa: SIM115
        except tarfile.TarError:
            raise IntegrityError(
                f"{path}: not a tar archive (damaged or cut short?); expected a bundle"
            ) from None
        contents: BundleContents | None = None
        try:
            with tar:
                for info in tar:
                    name = safe_name(info.name, str(path))
                    top, _, rel = name.partition("/")
                    if contents is None:
                        contents = BundleContents(top)
                    if top != contents.top:
                        raise IntegrityError(
                            f"{path}: entry {info.name!r} is outside the bundle folder "
                            f"{contents.top}/"
                        )
                    if info.isdir():
                        continue
                    if not info.isfile():
                        raise IntegrityError(f"{path}: entry {info.name!r} is not a regular file")
                    stream = tar.extractfile(info)
                    assert stream is not None
                    _add(contents, rel, *_hash_stream(stream))
                _check_gzip_end(tar, path)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise IntegrityError(f"{path}: archive is damaged or truncated ({exc})") from None
        reader.drain()
    if contents is None:
        raise IntegrityError(f"{path}: empty archive (damaged or cut short?); expected a bundle")
    with open(path, "rb") as fh:
        # Compressed: the decompressor's own length and CRC checks catch a cut.
        compressed = fh.read(6).startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ"))
    if not compressed and (reader.size % 512 or reader.tail != bytes(1024)):
        raise IntegrityError(
            f"{path}: archive is truncated (no end-of-archive marker after {reader.size} bytes)"
        )
    contents.archive_sha256 = reader.hexdigest()
    return contents


def _check_gzip_end(tar: tarfile.TarFile, path: Path) -> None:
    """A .tar.gz must run to its gzip trailer: tarfile stops at the end-of-archive blocks and
    checks neither the trailer nor the length, so a cut in the padding would pass."""
    stream: Any = tar.fileobj
    if getattr(stream, "comptype", None) != "gz" or not hasattr(stream, "cmp"):
        return
    while stream.read(CHUNK):
        pass
    trailer = stream.cmp.unused_data
    if not stream.cmp.eof or len(trailer) < 8:
        raise IntegrityError(f"{path}: the gzip stream is cut short (no trailer)")
    if int.from_bytes(trailer[4:8], "little") != stream.pos & 0xFFFFFFFF:
        raise IntegrityError(f"{path}: the gzip trailer's length does not match the data")


def _read_dir(folder: Path) -> BundleContents:
    contents = BundleContents(folder.name)
    for file in sorted(folder.rglob("*")):
        if file.is_dir():
            continue
        rel = file.relative_to(folder).as_posix()
        if file.is_symlink() or not file.is_file():
            raise IntegrityError(f"{folder}: {rel} is not a regular file")
        with open(file, "rb") as fh:
            _add(contents, rel, *_hash_stream(fh))
    return contents


@dataclass(frozen=True)
class VerifyReport:
    name: str
    files: int
    bytes: int
    sidecar: str  # what the .sha256 beside the archive said


def _manifest(path: Path, contents: BundleContents) -> Manifest:
    if contents.manifest_bytes is None:
        raise IntegrityError(f"{path}: no bundle.json inside (damaged, or not a bundle)")
    return Manifest.from_bytes(contents.manifest_bytes, f"{path}: {MANIFEST_FILE}")


def verify(path: Path) -> VerifyReport:
    contents = read_archive(path)
    manifest = _manifest(path, contents)
    problems: list[str] = []
    listed = manifest.files
    for rel, meta in sorted(listed.items()):
        if rel not in contents.hashes:
            problems.append(f"{rel}: missing")
        elif contents.hashes[rel] != meta.sha256 or contents.sizes[rel] != meta.size:
            problems.append(f"{rel}: altered")
    for rel in sorted(set(contents.hashes) - set(listed) - set(SELF_DESCRIBED)):
        problems.append(f"{rel}: not in the manifest")
    sums: dict[str, str] = {}
    for line in contents.sums.splitlines():
        digest, _, rel = line.partition("  ")
        sums[rel] = digest
    for rel, digest in contents.hashes.items():
        if rel != SUMS_FILE and sums.get(rel) != digest:
            problems.append(f"{rel}: does not match SHA256SUMS")
    sidecar_note = "no .sha256 beside it"
    sidecar = path.with_name(path.name + ".sha256")
    if contents.archive_sha256 and sidecar.is_file():
        expected = sidecar.read_text(encoding="utf-8").split()[0]
        if expected != contents.archive_sha256:
            problems.append(f"{path.name}: does not match {sidecar.name}")
        sidecar_note = f"matches {sidecar.name}"
    if contents.archive_sha256:
        problems += _provenance_problems(path, contents.archive_sha256)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        )
        raise IntegrityError(f"{path}: bundle does not match its manifest: {shown}")
    return VerifyReport(
        name=manifest.name,
        files=manifest.file_count,
        bytes=sum(contents.sizes.values()),
        sidecar=sidecar_note,
    )


def _provenance_problems(path: Path, archive_sha256: str) -> list[str]:
    """A provenance beside the bundle must be about this bundle: its subject, these bytes."""
    beside = provenance_path(path)
    if not beside.is_file():
        return []
    try:
        subjects = json.loads(beside.read_text(encoding="utf-8"))["subject"]
        named = {s["name"]: s["digest"]["sha256"] for s in subjects}
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{beside.name}: not a provenance statement"]
    if named.get(path.name) != archive_sha256:
        return [f"{beside.name}: its subject is not this {path.name}"]
    return []


def read_manifest(path: Path) -> Manifest:
    """The manifest alone, for `inspect`; verify first to trust it."""
    if path.is_dir():
        try:
            raw = (path / MANIFEST_FILE).read_bytes()
        except OSError:
            raise BundleFormatError(f"{path}: no readable bundle.json; not a bundle") from None
        return Manifest.from_bytes(raw, f"{path}/{MANIFEST_FILE}")
    return _manifest(path, read_archive(path))
