"""Safe extraction of a release tarball into one folder.

Every entry must live under the release's top folder: no absolute names, no `..`, no link
that points outside it, no device, FIFO or other special entry. Files are written with
O_EXCL|O_NOFOLLOW into a fresh temporary folder, links are made only after every file (so
nothing is ever written through a link), modes lose setuid/setgid/sticky and group/world
write, and the result is renamed into place in one step: a release folder that exists is
complete.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import errno
import os
import posixpath
import shutil
import tarfile

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Tuple  # noqa: F401


class UnsafeArchive(Exception):
    """An entry of the archive would land outside its folder, or is not a plain file,
    folder or in-tree link; nothing of the archive is kept."""


_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)


def _clean(name):
    """The entry name as a relative POSIX path, or None when it cannot be one."""
    if not name or "\0" in name or name.startswith("/"):
        return None
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    parts = name.split("/")
    if not name or ".." in parts:
        return None
    return "/".join(p for p in parts if p not in ("", "."))


def _inside(path, top):
    return path == top or path.startswith(top + "/")


# What an entry is, independent of how tarfile (str on Python 2, bytes on 3) or the build's
# streaming scan spell the type.
FILE, DIR, SYMLINK, HARDLINK, SPECIAL = "file", "dir", "symlink", "hardlink", "special"

# Symlinks followed while resolving one link before it counts as a loop (Linux's own limit).
_MAX_HOPS = 40


def kind_of(tar_type):
    # type: (Any) -> str
    """FILE, DIR, SYMLINK, HARDLINK or SPECIAL for a tar type flag (str or bytes)."""
    if isinstance(tar_type, bytes):
        tar_type = tar_type.decode("latin-1")
    if tar_type in ("0", "\0", "7", ""):
        return FILE
    return {"5": DIR, "2": SYMLINK, "1": HARDLINK}.get(tar_type, SPECIAL)


class Judge(object):
    """The one set of rules deciding whether a tarball may be unpacked; the build's
    streaming scan and extract() both use it, so the build never bundles what an install
    would refuse.

    Feed every entry in archive order with add(), which returns the problem with that entry
    alone (names, link targets taken lexically, types); then finish() judges what needs the
    whole listing: nothing may lie under a link, hard links must name a file of the archive,
    and every link, resolved through the archive's other links as the kernel would, must stay
    inside the top folder at every step. Only names are kept, never file data.
    """

    def __init__(self, top=None):
        # type: (Optional[str]) -> None
        self.top = top  # None: the first entry's top folder
        self._kinds = {}  # type: Dict[str, str]  # clean name -> kind of its last entry
        self._links = {}  # type: Dict[str, str]  # clean name -> symlink target
        self._hardlinks = []  # type: List[Tuple[str, str, str]]  # (name, target, raw name)
        self._raw = {}  # type: Dict[str, str]  # clean name -> name as the archive spells it

    def add(self, name, kind, linkname=""):
        # type: (str, str, str) -> Optional[str]
        clean = _clean(name)
        if clean is None:
            return "%r: absolute or '..' path" % name
        if self.top is None:
            self.top = clean.split("/", 1)[0]
        top = self.top
        if not _inside(clean, top):
            return "%r: outside the release folder %s/" % (name, top)
        if kind == SYMLINK:
            if not linkname or linkname.startswith("/") or "\0" in linkname:
                return "%r: link to the absolute path %r" % (name, linkname)
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(clean), linkname))
            if not _inside(resolved, top):
                return "%r: link to %r leaves the release folder" % (name, linkname)
            self._links[clean] = linkname
        elif kind == HARDLINK:
            target = _clean(linkname)
            if target is None or not _inside(target, top):
                return "%r: hard link to %r leaves the release folder" % (name, linkname)
            self._hardlinks.append((clean, target, name))
        elif kind not in (FILE, DIR):
            return "%r: special file (device, FIFO or unknown type)" % name
        before = self._kinds.get(clean)
        if before is not None and before != kind and DIR in (before, kind):
            return "%r: a %s entry over a %s of the same name" % (name, kind, before)
        if before == SYMLINK and kind != SYMLINK:
            del self._links[clean]
        self._kinds[clean] = kind
        self._raw.setdefault(clean, name)
        return None

    def finish(self):
        # type: () -> Optional[str]
        """The first problem of the archive as a whole, or None when it may be unpacked."""
        kinds = self._kinds
        for clean in sorted(kinds):
            parts = clean.split("/")
            for i in range(1, len(parts)):
                above = "/".join(parts[:i])
                if kinds.get(above) == SYMLINK:
                    return "%r: lies inside a linked folder (%r is a link to %r)" % (
                        self._raw[clean],
                        self._raw[above],
                        self._links[above],
                    )
        for _name, target, name in self._hardlinks:
            if kinds.get(target) != FILE:
                return "%r: hard link to %r, which is not a file of the archive" % (name, target)
        for clean in sorted(self._links):
            problem = self._follow(clean)
            if problem:
                return "%r: link to %r %s" % (self._raw[clean], self._links[clean], problem)
        return None

    def _follow(self, clean):
        """Why following the link `clean` would leave the top folder, or None."""
        stack = clean.split("/")[:-1]
        pending = list(reversed(self._links[clean].split("/")))
        hops = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not stack:
                    return "leaves the release folder"
                stack.pop()
            else:
                stack.append(part)
                target = self._links.get("/".join(stack))
                if target is not None:
                    hops += 1
                    if hops > _MAX_HOPS:
                        return "never ends (the links form a loop)"
                    if target.startswith("/"):
                        return "leaves the release folder through an absolute link"
                    stack.pop()
                    pending.extend(reversed(target.split("/")))
            if not _inside("/".join(stack), self.top):
                return "leaves the release folder when followed step by step"
        return None


def check_member(member, top):
    """The problem with one entry on its own, or None; extract() also judges the whole."""
    return Judge(top).add(member.name, kind_of(member.type), member.linkname)


def _safe_mode(mode, is_dir):
    if is_dir:
        return 0o755
    # Keep the execute bits the release gave, nothing that widens access.
    return 0o755 if mode & 0o111 else 0o644


def _makedirs(path):
    # type: (str) -> None
    """The folder and its parents (0755), fine when it is there already."""
    try:
        os.makedirs(path, 0o755)
    except OSError as exc:
        if exc.errno != errno.EEXIST or not os.path.isdir(path):
            raise


def _write_file(tar, member, dest):
    _makedirs(os.path.dirname(dest))
    if os.path.lexists(dest):
        # A repeated entry replaces the earlier one, as tar does; never through a link.
        if os.path.isdir(dest) and not os.path.islink(dest):
            raise UnsafeArchive("%r: a file entry over a folder" % member.name)
        os.unlink(dest)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(dest, flags, 0o600)
    source = tar.extractfile(member)
    try:
        with os.fdopen(fd, "wb") as out:
            if source is not None:
                shutil.copyfileobj(source, out, 1 << 20)
    finally:
        if source is not None:
            source.close()
    os.chmod(dest, _safe_mode(member.mode, False))
    os.utime(dest, (member.mtime, member.mtime))


def extract(tarball, releases_dir, top):
    # type: (str, str, str) -> str
    """Extract `tarball`, whose entries all live under `top/`, to `releases_dir/top`.

    Returns the path of the release folder. Raises UnsafeArchive (nothing kept) when an entry
    is unsafe, and OSError/tarfile.TarError when the archive is damaged."""
    final = os.path.join(releases_dir, top)
    if os.path.lexists(final):
        raise OSError(errno.EEXIST, "release folder already exists", final)
    _makedirs(releases_dir)
    work = os.path.join(releases_dir, ".%s.partial-%d" % (top, os.getpid()))
    if os.path.lexists(work):
        shutil.rmtree(work)
    os.mkdir(work, 0o700)
    try:
        links = []
        hardlinks = []
        dirs = []
        seen_top = False
        judge = Judge(top)
        # Stream mode: one pass over a compressed tarball of several hundred MB.
        with tarfile.open(tarball, "r|*") as tar:
            for member in tar:
                problem = judge.add(member.name, kind_of(member.type), member.linkname)
                if problem:
                    raise UnsafeArchive(problem)
                name = _clean(member.name)
                dest = os.path.join(work, *name.split("/"))
                seen_top = True
                if member.type == tarfile.DIRTYPE:
                    _makedirs(dest)
                    dirs.append((dest, member.mtime))
                elif member.type == tarfile.SYMTYPE:
                    links.append((dest, member.linkname, member.name))
                elif member.type == tarfile.LNKTYPE:
                    target = os.path.join(work, *_clean(member.linkname).split("/"))
                    hardlinks.append((dest, target, member.name))
                else:
                    _write_file(tar, member, dest)
        if not seen_top:
            raise UnsafeArchive("%s: empty archive, expected a %s/ folder" % (tarball, top))
        problem = judge.finish()
        if problem:
            raise UnsafeArchive(problem)
        for dest, target, name in hardlinks:
            if os.path.islink(target) or not os.path.isfile(target):
                raise UnsafeArchive("%r: hard link to something that is not a file" % name)
            _makedirs(os.path.dirname(dest))
            if os.path.lexists(dest):
                os.unlink(dest)
            os.link(target, dest)
        real_work = os.path.realpath(work)
        for dest, target, _name in links:
            _makedirs(os.path.dirname(dest))
            # The lexical check in check_member holds only when no folder on the way is
            # itself a link (a link under `top/s -> .` resolves one level higher).
            parent = os.path.dirname(dest)
            expected = os.path.join(real_work, os.path.relpath(parent, work))
            if os.path.realpath(parent) != os.path.normpath(expected):
                raise UnsafeArchive("%r: a link inside a linked folder" % _name)
            if os.path.lexists(dest):
                if os.path.isdir(dest) and not os.path.islink(dest):
                    raise UnsafeArchive("%r: a link entry over a folder" % _name)
                os.unlink(dest)
            os.symlink(target, dest)
        for dest, mtime in sorted(dirs, reverse=True):
            os.chmod(dest, 0o755)
            os.utime(dest, (mtime, mtime))
        root = os.path.join(work, top)
        if not os.path.isdir(root) or os.path.islink(root):
            raise UnsafeArchive("%s: no %s/ folder in the archive" % (tarball, top))
        os.chmod(root, 0o755)
        os.rename(root, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def read_member(tarball, name, limit=1 << 16):
    # type: (str, str, int) -> Optional[bytes]
    """The first `limit` bytes of one regular entry, or None when there is none by that name."""
    wanted = _clean(name)
    with tarfile.open(tarball, "r|*") as tar:
        for member in tar:
            if _clean(member.name) == wanted and member.type in _FILE_TYPES:
                handle = tar.extractfile(member)
                if handle is None:
                    return None
                try:
                    return handle.read(limit)
                finally:
                    handle.close()
    return None
