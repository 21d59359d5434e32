"""A copy of a folder the service user owns (ZooKeeper's data), in root's hands.

The folder is read as its owner (boundary.py): a child with the user's ids writes it as a tar
stream to a pipe, storing links as links, so root never opens a path the user could have
pointed elsewhere. Root writes what arrives into a new folder of its own under a temporary
name (regular files and folders only, each created anew, nothing outside it), records every
file's size and sha256 in a manifest, syncs it and renames it into place: a copy is complete,
or it is not there."""

from __future__ import absolute_import, print_function

import hashlib
import json
import os
import posixpath
import stat
import tarfile
import time

from ..host import boundary

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import IO, Any, Dict, List, Optional, Tuple  # noqa: F401

MANIFEST = "copy-manifest.json"


class CopyFailed(Exception):
    """The copy could not be taken; nothing of it is left."""


def _tar_to(out, src):
    # type: (IO[bytes], str) -> None
    """In the child, as the folder's owner: src as a tar stream (links stored, not followed)."""
    with tarfile.open(fileobj=out, mode="w|") as tar:
        tar.add(src, arcname=".", recursive=True)


def _member_path(name):
    # type: (str) -> Optional[str]
    """The member's path relative to the copy, None for the top or a name that would leave."""
    rel = posixpath.normpath(name.lstrip("/"))
    if rel in (".", "") or rel.startswith("../") or rel == "..":
        return None
    return rel


class _Writer(object):
    """Root's side: the members into a fresh folder, recorded as they are written."""

    def __init__(self, top):
        # type: (str) -> None
        self.top = top
        self.files = {}  # type: Dict[str, Dict[str, Any]]
        self.skipped = []  # type: List[str]
        self.folders = [top]  # type: List[str]

    def consume(self, pipe):
        # type: (IO[bytes]) -> None
        with tarfile.open(fileobj=pipe, mode="r|") as tar:
            for member in tar:
                rel = _member_path(member.name)
                if rel is None:
                    continue
                path = os.path.join(self.top, *rel.split("/"))
                if member.isdir():
                    os.mkdir(path, 0o700)
                    self.folders.append(path)
                elif member.isfile():
                    self._file(path, rel, tar.extractfile(member), member.mode & 0o777)
                else:  # ZooKeeper writes no links or devices: not the data, not copied
                    self.skipped.append(rel)

    def _file(self, path, rel, source, mode):
        # type: (str, str, Optional[IO[bytes]], int) -> None
        digest, size = hashlib.sha256(), 0
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | boundary.NOFOLLOW
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb") as out:
            while source is not None:
                chunk = source.read(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                if chunk.strip(b"\0"):
                    out.write(chunk)
                else:  # ZooKeeper preallocates its logs with zeros: kept as a hole
                    out.seek(len(chunk), os.SEEK_CUR)
            out.truncate(size)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        self.files[rel] = {"size": size, "sha256": digest.hexdigest()}


def take(src, dest, facts):
    # type: (str, str, Dict[str, Any]) -> Dict[str, Any]
    """Copy the folder src to dest with a manifest that also holds facts; returns the
    manifest. A copy already at dest (an earlier attempt's) is replaced only once the new one
    is whole. Raises CopyFailed or OSError, leaving nothing of the new copy behind."""
    st = os.lstat(src)
    if not stat.S_ISDIR(st.st_mode):
        raise CopyFailed("%s is not a folder (a link?); nothing copied" % src)
    tmp = "%s.partial-%d" % (dest, os.getpid())
    if boundary.lstat(tmp) is not None:
        boundary.remove(tmp)
    os.mkdir(tmp, 0o700)
    try:
        writer = _Writer(tmp)
        ids = (st.st_uid, st.st_gid) if os.geteuid() == 0 and st.st_uid != 0 else None
        code = boundary.as_user_stream(ids, _tar_to, writer.consume, src)
        if code != 0:
            raise CopyFailed("reading %s as its owner failed (exit %d)" % (src, code))
        manifest = dict(facts)
        manifest.update(
            {
                "source": src,
                "owner": [st.st_uid, st.st_gid],
                "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "files": writer.files,
                "skipped": sorted(writer.skipped),
            }
        )
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        boundary.write(os.path.join(tmp, MANIFEST), text.encode("utf-8"), 0o600)
        for folder in writer.folders:
            _sync(folder)
        _put_in_place(tmp, dest)
        return manifest
    finally:
        if boundary.lstat(tmp) is not None:
            boundary.remove(tmp)


def _put_in_place(tmp, dest):
    # type: (str, str) -> None
    old = "%s.replaced-%d" % (dest, os.getpid())
    if boundary.lstat(dest) is not None:
        os.rename(dest, old)
    os.rename(tmp, dest)
    _sync(os.path.dirname(dest))
    if boundary.lstat(old) is not None:
        boundary.remove(old)


def verify(copy):
    # type: (str) -> Tuple[Optional[Dict[str, Any]], List[str]]
    """(manifest, problems): every file the manifest lists, with its size and sha256, and no
    other file. A copy without a manifest is (None, [why])."""
    manifest = manifest_of(copy)
    if manifest is None:
        return None, ["%s has no manifest (%s)" % (copy, MANIFEST)]
    problems = []
    found = set()
    for folder, _, names in os.walk(copy):
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), copy).replace(os.sep, "/")
            if rel != MANIFEST:
                found.add(rel)
    for rel in sorted(set(manifest["files"]) | found):
        want = manifest["files"].get(rel)
        if want is None:
            problems.append("%s: not in the manifest" % rel)
            continue
        if rel not in found:
            problems.append("%s: missing" % rel)
            continue
        digest, size = _digest(os.path.join(copy, *rel.split("/")))
        if (size, digest) != (want.get("size"), want.get("sha256")):
            problems.append("%s: differs from the manifest" % rel)
    return manifest, problems


def _digest(path):
    # type: (str) -> Tuple[str, int]
    digest, size = hashlib.sha256(), 0
    fd = os.open(path, os.O_RDONLY | boundary.NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def describe(manifest):
    # type: (Dict[str, Any]) -> str
    """One line of a copy's facts, for status and rollback."""
    files = manifest.get("files") or {}
    return "ZooKeeper %s data, zxid %s, %d files, %d bytes, taken %s" % (
        manifest.get("release") or "?",
        manifest.get("zxid") or "?",
        len(files),
        sum(int(f.get("size") or 0) for f in files.values()),
        manifest.get("taken") or "?",
    )


def _sync(folder):
    # type: (str) -> None
    fd = os.open(folder, os.O_RDONLY | boundary.DIRECTORY | boundary.NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def manifest_of(copy):
    # type: (str) -> Optional[Dict[str, Any]]
    """A copy's manifest, None when it has none (an unfinished or foreign folder)."""
    try:
        found = json.loads(boundary.read(os.path.join(copy, MANIFEST)).decode("utf-8"))
    except (IOError, OSError, ValueError, boundary.Untrusted):
        return None
    return found if isinstance(found, dict) and isinstance(found.get("files"), dict) else None
