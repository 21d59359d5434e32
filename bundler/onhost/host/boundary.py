"""The privilege boundary between root and the service user.

The daemons run as the service user, so an exploit of one of them is that user. Root acts by
itself only through folders that nobody else can change: every folder on the way to a path
owned by root and not writable by group or others (or sticky, with the next entry root's).
Anywhere else it does the work as the owner of the first folder it cannot trust, in a child
process with that user's ids: what the user could not do, root will not do for it. Root never
follows a link that user could have made, never writes, truncates, chowns or deletes through
one, and never reads through one (a child reads and hands the bytes over a pipe).

Under another user than root nothing is done in a child: no privilege to lend."""

from __future__ import absolute_import, print_function

import errno
import os
import pwd
import shutil
import stat
import sys

from ..errors import InstallError

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import IO, Any, Callable, List, Optional, Tuple  # noqa: F401

# Link hops allowed on one path, as the kernel's MAXSYMLINKS.
MAX_HOPS = 40
# What a read through the boundary hands back at most: generated files and log tails.
READ_LIMIT = 64 * 1024 * 1024
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)
DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class Untrusted(InstallError):
    """A folder on the way that root cannot trust and cannot act for (writable by others, yet
    root's or nobody's to act as); exit 1 with the fix."""


def _mine(uid):
    # type: (int) -> bool
    return uid == 0 or uid == os.geteuid()


def _trusted_for(folder_st, entry_st):
    # type: (os.stat_result, Optional[os.stat_result]) -> bool
    """Whether the entries of a folder can be changed by nobody but root (or this user)."""
    if not _mine(folder_st.st_uid):
        return False
    if not folder_st.st_mode & 0o022:
        return True
    # A sticky folder (/tmp): others add names but cannot move or replace ours.
    sticky = folder_st.st_mode & stat.S_ISVTX
    return bool(sticky) and entry_st is not None and _mine(entry_st.st_uid)


def _lstat(path):
    # type: (str) -> Optional[os.stat_result]
    try:
        return os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def untrusted_folder(path):
    # type: (str) -> Optional[Tuple[str, int, int]]
    """The first folder on the way to path (links resolved, path itself excluded unless it is a
    link) whose entries someone other than root could change: (folder, uid, gid). None when
    root may act on path by itself, or when this process is not root."""
    if os.geteuid() != 0:
        return None
    pending = [p for p in os.path.abspath(path).split("/") if p][::-1]
    cur, cur_st = "/", os.lstat("/")
    hops = 0
    while pending:
        name = pending.pop()
        if name == ".":
            continue
        if name == "..":
            cur = os.path.dirname(cur)
            cur_st = os.lstat(cur)
            continue
        nxt = os.path.join(cur, name)
        st = _lstat(nxt)
        if st is None:
            # Nothing there to follow: who may add names to cur decides (in a sticky folder
            # such as /tmp, a name root makes anew with O_EXCL or mkdir stays root's).
            sticky = cur_st.st_mode & stat.S_ISVTX
            if _mine(cur_st.st_uid) and (not cur_st.st_mode & 0o022 or sticky):
                return None
            return cur, cur_st.st_uid, cur_st.st_gid
        if not _trusted_for(cur_st, st):
            return cur, cur_st.st_uid, cur_st.st_gid
        if not (stat.S_ISLNK(st.st_mode) or (pending and stat.S_ISDIR(st.st_mode))):
            return None  # missing, or the last entry: root's folder holds it
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > MAX_HOPS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
            # Made by root in a folder only root changes: followed, and checked further.
            target = os.readlink(nxt)
            if target.startswith("/"):
                cur, cur_st = "/", os.lstat("/")
            pending.extend([p for p in target.split("/") if p][::-1])
            continue
        cur, cur_st = nxt, st
    return None


def _acting_ids(folder, uid, gid):
    # type: (str, int, int) -> Tuple[int, int]
    if _mine(uid):
        raise Untrusted(
            "%s is writable by other users (mode %04o); root does not act through it. Fix: "
            "chmod go-w %s" % (folder, stat.S_IMODE(os.lstat(folder).st_mode), folder)
        )
    try:  # noqa: SIM105 (no contextlib.suppress on Python 2)
        gid = pwd.getpwuid(uid).pw_gid
    except KeyError:
        pass
    return uid, gid


# --- doing the work as another user ---


def as_user(ids, func, *args):
    # type: (Tuple[int, int], Callable[..., Optional[bytes]], Any) -> Optional[bytes]
    """func(*args) in a child process running with ids (uid, gid) and no supplementary
    groups; returns what it returned (bytes or None). An OSError in the child is raised here
    again with its errno, so callers handle it as if they had acted themselves."""
    chunks = []  # type: List[bytes]
    code = as_user_stream(ids, _framed(func), lambda pipe: chunks.append(pipe.read()), *args)
    return _unframe(b"".join(chunks), code)


def as_user_stream(ids, func, consume, *args):
    # type: (Optional[Tuple[int, int]], Callable[..., None], Callable[[IO[bytes]], None], Any) -> int
    """func(out, *args) in a child running as ids (None: as this process), writing to the
    binary file out, while consume(pipe) reads it here. Returns the child's exit code."""
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to the user, act, never return into the caller
        code = 1
        try:
            os.close(rfd)
            if ids is not None:
                os.setgroups([])
                os.setgid(ids[1])
                os.setuid(ids[0])
            with os.fdopen(wfd, "wb") as out:
                func(out, *args)
            code = 0
        except BaseException:  # noqa: BLE001 (the parent reports it from the exit code)
            code = 1
        finally:
            os._exit(code)
    os.close(wfd)
    try:
        with os.fdopen(rfd, "rb") as pipe:
            consume(pipe)
            while pipe.read(1 << 20):  # what consume left: the child ends only once it is read
                pass
    finally:
        _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _framed(func):
    # type: (Callable[..., Optional[bytes]]) -> Callable[..., None]
    """func's result, or its OSError, as one message: b"+" data, b"0" for None, b"!" errno."""

    def run(out, *args):
        # type: (IO[bytes], Any) -> None
        try:
            result = func(*args)
        except (IOError, OSError) as exc:
            said = "!%d %s\0%s" % (exc.errno or 0, exc.filename or "", exc.strerror or exc)
            out.write(said.encode("utf-8"))
            return
        out.write(b"0" if result is None else b"+" + result)

    return run


def _unframe(data, code):
    # type: (bytes, int) -> Optional[bytes]
    if code != 0 or not data:
        raise OSError(errno.EPERM, "the step run as the service user failed (exit %d)" % code)
    if data[:1] == b"+":
        return data[1:]
    if data[:1] == b"0":
        return None
    number, _, rest = data[1:].decode("utf-8", "replace").partition(" ")
    name, _, text = rest.partition("\0")
    raise OSError(int(number) if number.isdigit() else errno.EIO, text, name or None)


def _through(path, func, *args):
    # type: (str, Callable[..., Optional[bytes]], Any) -> Optional[bytes]
    """func(path, *args) by root when root may act on path, else as the folder's owner."""
    found = untrusted_folder(path)
    if found is None:
        return func(path, *args)
    return as_user(_acting_ids(*found), func, path, *args)


# --- the operations; each runs as whoever may act, and follows no final link ---


def _open_regular(path):
    # type: (str) -> int
    """A descriptor of path, a regular file: never a link, a FIFO or a device."""
    fd = os.open(path, os.O_RDONLY | NOFOLLOW | NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", path)
    return fd


def _read(path, limit=READ_LIMIT):
    # type: (str, int) -> bytes
    fd = _open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def _tail(path, size):
    # type: (str, int) -> bytes
    fd = _open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        end = os.fstat(fd).st_size
        handle.seek(max(0, end - size))
        return handle.read(size)


def _write(path, data, mode, uid, gid):
    # type: (str, bytes, int, Optional[int], Optional[int]) -> None
    """data into path by a new file renamed over it: a link at either name is replaced, never
    followed. Owner changed only when root acts (a user's file stays the user's)."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    if _lstat(tmp) is not None:
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if uid is not None and gid is not None and os.geteuid() == 0:
                os.fchown(handle.fileno(), uid, gid)
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    finally:
        if _lstat(tmp) is not None:
            os.unlink(tmp)


def _write_as(path, data, mode):
    # type: (str, bytes, int) -> None
    _write(path, data, mode, None, None)


def _set_meta(path, mode, uid, gid, kind):
    # type: (str, int, Optional[int], Optional[int], str) -> Tuple[bool, bool]
    """(mode changed, owner changed) of path, through a descriptor: a link is an error."""
    flags = os.O_RDONLY | NOFOLLOW | NONBLOCK | (DIRECTORY if kind == "folder" else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise
        fd = -exc.errno
    if fd < 0:
        raise OSError(-fd, "is a link or not a %s" % kind, path)
    try:
        st = os.fstat(fd)
        moded = stat.S_IMODE(st.st_mode) != mode
        if moded:
            os.fchmod(fd, mode)
        owned = uid is not None and gid is not None and (st.st_uid, st.st_gid) != (uid, gid)
        if owned and os.geteuid() == 0:
            os.fchown(fd, uid, gid)  # type: ignore[arg-type]
        return moded, owned
    finally:
        os.close(fd)


def _remove(path):
    # type: (str) -> None
    st = _lstat(path)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        _remove_tree(path)
    else:
        os.unlink(path)


def _remove_tree(path):
    # type: (str) -> None
    """A folder and all in it. Root descends only into folders nobody else can change; a
    folder of another user is emptied as that user, then removed."""
    st = os.lstat(path)
    if os.geteuid() == 0 and not _trusted_for(st, None):
        as_user(_acting_ids(path, st.st_uid, st.st_gid), _empty, path)
    else:
        for name in os.listdir(path):
            _remove(os.path.join(path, name))
    os.rmdir(path)


def _empty(path):
    # type: (str) -> None
    for name in os.listdir(path):
        child = os.path.join(path, name)
        if stat.S_ISDIR(os.lstat(child).st_mode):
            shutil.rmtree(child)
        else:
            os.unlink(child)


def _listdir(path):
    # type: (str) -> bytes
    names = "\0".join(os.listdir(path))
    return names if isinstance(names, bytes) else names.encode("utf-8", "surrogateescape")


def _mkdir(path, mode):
    # type: (str, int) -> None
    os.mkdir(path, mode)
    os.chmod(path, mode)


# --- what the installer calls ---


def read(path, limit=READ_LIMIT):
    # type: (str, int) -> bytes
    """A regular file's bytes, read by whoever may act on path; never through a final link
    in a folder another user can change."""
    found = untrusted_folder(path)
    if found is None:
        # Every folder on the way is root's: a final link is root's own (PREFIX/storm).
        with open(path, "rb") as handle:
            return handle.read(limit)
    return as_user(_acting_ids(*found), _read, path, limit) or b""


def tail(path, size):
    # type: (str, int) -> bytes
    """The last size bytes of a regular file, as read allows."""
    return _through(path, _tail, size) or b""


def write(path, data, mode, uid=None, gid=None):
    # type: (str, bytes, int, Optional[int], Optional[int]) -> None
    """Write path anew (a temporary file renamed over it). In a folder of the service user the
    user writes it, as its own; uid and gid apply where root writes."""
    found = untrusted_folder(path)
    if found is None:
        _write(path, data, mode, uid, gid)
    else:
        as_user(_acting_ids(*found), _write_as, path, data, mode)


def set_meta(path, mode, uid, gid, kind="file"):
    # type: (str, int, Optional[int], Optional[int], str) -> Tuple[bool, bool]
    """Set path's mode (and owner, where root acts) without following a link; returns which
    of the two differed."""
    found = untrusted_folder(path)
    if found is None:
        return _set_meta(path, mode, uid, gid, kind)
    result = as_user(_acting_ids(*found), _set_meta_as, path, mode, kind)
    return (result == b"1", False)


def _set_meta_as(path, mode, kind):
    # type: (str, int, str) -> bytes
    return b"1" if _set_meta(path, mode, None, None, kind)[0] else b"0"


def remove(path):
    # type: (str) -> None
    """Remove a file, link or folder tree; a link is removed, never followed."""
    _through(path, _remove)


def listdir(path):
    # type: (str) -> List[str]
    data = _through(path, _listdir) or b""
    if isinstance("", bytes):  # Python 2: names are byte strings
        return [n for n in data.split(b"\0") if n]  # type: ignore[misc]
    return [n for n in data.decode("utf-8", "surrogateescape").split("\0") if n]


def _usage(path):
    # type: (str) -> bytes
    size, entries = 0, 0
    for folder, dirs, files in os.walk(path):  # links are not followed
        for name in dirs + files:
            # Blocks in use, not the length: a copy keeps ZooKeeper's preallocated holes.
            size += os.lstat(os.path.join(folder, name)).st_blocks * 512
            entries += 1
    return ("%d %d" % (size, entries)).encode("ascii")


def usage(path):
    # type: (str) -> Tuple[int, int]
    """(bytes in use, files and folders) under path, counted by whoever may act on it."""
    data = _through(path, _usage) or b"0 0"
    size, entries = data.split()
    return int(size), int(entries)


def mkdir(path, mode):
    # type: (str, int) -> None
    _through(path, _mkdir, mode)


def check_socket(path):
    # type: (str) -> None
    """Raises OSError unless path is a socket root may talk to: its own, in its own folders."""
    if os.geteuid() != 0:
        return
    st = _lstat(path)
    if st is None:
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    if untrusted_folder(path) is not None or not stat.S_ISSOCK(st.st_mode) or st.st_uid != 0:
        raise OSError(errno.EPERM, "not root's socket in root's folder; not asked", path)


def lstat(path):
    # type: (str) -> Optional[os.stat_result]
    """lstat of path, or None when it does not exist (no bytes are read: safe for root)."""
    return _lstat(path)
