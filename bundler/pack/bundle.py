"""Members -> one deterministic archive, written to a temp name and renamed into place.

The same members give the same bytes whatever the umask, time zone or cache state: the lead
member (Storm's release) and its folders first, the other entries sorted, every mtime the
same fixed value, uid/gid 0 owned by root, modes normalised to 0644/0755, plain ustar headers
(no pax timestamps), and gzip with no name and mtime 0. Every payload byte is checked against
what the manifest says (hashed as it is written, or, for a file this build hashed as it
arrived and whose stat has not changed since, not again), and the archive's own sha256 is
computed from what was written. A plain tar's large members are copied by the kernel and read
back once from the archive for both hashes; its lead may have been written while it downloaded
(Prefix), and is then only read back.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from bundler.errors import BundlerError, IntegrityError
from bundler.fetch.cache import fingerprint
from bundler.fetch.fanout import Fanout

Format = Literal["tar", "tar.gz"]
RECORD = 20 * 512  # tar's default record size: old tars expect the file to be a multiple
CHUNK = 1 << 20
# Kernel copies of a member go this far ahead of the hashes reading it back.
COPY_STEP = 16 << 20
# copy_file_range refused for this pair of files (other filesystems, old kernel): copy in Python.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}


@dataclass(frozen=True)
class Member:
    name: str  # path inside the top folder, '/'-separated
    source: Path | bytes
    executable: bool = False
    sha256: str | None = None  # checked while copying when given
    # The stat fingerprint (cache.fingerprint) of a source whose bytes this build hashed as
    # they arrived: while it still holds, the copy is not hashed again (but the archive is).
    verified: dict[str, int] | None = None

    @property
    def size(self) -> int:
        return len(self.source) if isinstance(self.source, bytes) else self.source.stat().st_size


class _HashingWriter:
    """A write-only file that hashes what passes through it, on a thread of its own, so the
    archive's sha256 costs no time next to reading and checking the payload."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self._fanout = Fanout([self.sha256.update])
        self.kernel_copy = hasattr(os, "copy_file_range")
        self.flusher = _Flusher(raw.fileno())

    def write(self, data: bytes | bytearray | memoryview) -> int:
        # The hashing thread may still hold it: hand over an immutable copy.
        chunk = data if isinstance(data, bytes) else bytes(data)
        self._fanout.feed(chunk)
        self.flusher.wrote(len(chunk))
        return self.raw.write(chunk)

    def hexdigest(self) -> str:
        self._fanout.close()
        return self.sha256.hexdigest()

    def copy_file(self, src: int, size: int, check: Callable[[bytes], None] | None = None) -> None:
        """Append `size` bytes of the file `src` in the kernel (copy_file_range, where the
        filesystems allow; else a plain copy), a STEP at a time. Each step is then read back
        from the archive and handed to the archive's hash and to `check` (the member's own
        hash), both on threads of their own that work while the kernel copies the next step:
        the hashes describe the bytes that landed in the archive, whatever the source did."""
        self.raw.flush()
        dst = self.raw.fileno()
        start = os.lseek(dst, 0, os.SEEK_CUR)
        member = Fanout([check]) if check is not None else None
        try:
            done = 0
            while done < size:
                step = self._copy_step(src, dst, done, min(COPY_STEP, size - done))
                if step == 0:
                    break
                self._read_back(start + done, step, member)
                done += step
                self.flusher.wrote(step)
        finally:
            if member is not None:
                member.close()
        if done != size:
            raise IntegrityError(f"a cached file shrank while it was copied ({done} of {size})")

    def read_back(self, start: int, count: int, check: Callable[[bytes], None] | None) -> None:
        """Hand `count` bytes the archive holds at `start` (written earlier, Prefix) to the
        archive's hash and to `check`, on threads of their own."""
        member = Fanout([check]) if check is not None else None
        try:
            self._read_back(start, count, member)
        finally:
            if member is not None:
                member.close()

    def _read_back(self, start: int, count: int, member: Fanout | None) -> None:
        dst = self.raw.fileno()
        offset = 0
        while offset < count:
            chunk = os.pread(dst, min(CHUNK, count - offset), start + offset)
            if not chunk:
                raise IntegrityError("the archive is shorter than what was written to it")
            self._fanout.feed(chunk)
            if member is not None:
                member.feed(chunk)
            offset += len(chunk)

    def _copy_step(self, src: int, dst: int, offset: int, count: int) -> int:
        """Copy up to `count` bytes at `offset` of src to the end of dst; the bytes copied."""
        done = 0
        while done < count and self.kernel_copy:
            try:
                n = os.copy_file_range(src, dst, count - done, offset + done)
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY or offset or done:
                    raise
                self.kernel_copy = False
                break
            if n == 0:
                break  # some filesystems copy nothing this way: the plain copy decides
            done += n
        while done < count:
            chunk = os.pread(src, min(CHUNK, count - done), offset + done)
            if not chunk:
                break
            view = memoryview(chunk)
            while view:
                view = view[os.write(dst, view) :]
            done += len(chunk)
        return done

    def flush(self) -> None:
        self.raw.flush()


class _Flusher:
    """Starts the disk writes of the archive while it is still being written: a thread
    fdatasyncs it after every STEP bytes, so the final fsync waits for the tail only and the
    disk works while the CPU copies and hashes. An error of an early sync is kept and raised
    by close(): Linux reports a write-back error to one sync call only."""

    STEP = 64 << 20

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.error: OSError | None = None
        self._since = 0
        self._closing = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def wrote(self, size: int) -> None:
        self._since += size
        if self._since >= self.STEP:
            self._since = 0
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            try:
                os.fdatasync(self.fd)
            except OSError as exc:
                self.error = self.error or exc

    def close(self) -> None:
        """Stop the thread (before the file is closed); raise an early sync's error."""
        self._closing = True
        self._wake.set()
        self._thread.join()
        if self.error is not None:
            raise self.error


class Prefix:
    """The start of a plain-tar bundle, written while its lead member (the largest release)
    downloads: room for the headers of the member and its folders, then the member's bytes as
    they arrive, which the disk writes meanwhile (a _Flusher) instead of after the download.
    write_archive moves it beside the bundle, fills in the headers once the size and the epoch
    are known, checks the bytes as it reads them back for the archive's hash, and appends the
    other members. Whatever goes wrong here (a full disk, another filesystem or mount than the
    bundle's) costs only the head start: write_archive then copies the member as it would have.

    `folder` is a fresh folder for it alone, removed with it by discard() (and swept by the
    cache if the build is killed). feed() runs on a download's consumer thread; restart(),
    take() and discard() may run on others, so a lock keeps a write and a close apart."""

    def __init__(self, folder: Path, top: str, lead: str) -> None:
        self.folder = folder
        self.path = folder / f"{top}.tar"
        self.top = top
        self.lead = lead
        self.start = 512 * len(_lead_entries(top, lead))
        self.size = 0
        self.broken = False
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._flusher: _Flusher | None = _Flusher(self._fd)
        self.restart()

    def restart(self) -> None:
        """Begin the member again (a download that starts over, or another mirror). A write
        that failed once is not tried again."""
        with self._lock:
            self.size = 0
            try:
                os.ftruncate(self._fd, self.start)
                os.lseek(self._fd, self.start, os.SEEK_SET)
            except OSError:
                self.broken = True

    def feed(self, chunk: bytes) -> None:
        with self._lock:
            if self.broken or self._fd < 0:
                return
            try:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError:
                self.broken = True
                return
            self.size += len(chunk)
            if self._flusher is not None:
                self._flusher.wrote(len(chunk))

    def take(self, top: str, lead: str, size: int, sha256: str | None, dest: Path) -> int | None:
        """The file, moved beside `dest` (self.path follows it), and its descriptor, now the
        caller's, for an archive under `top/` whose lead member is `lead`, of `size` bytes,
        with the sha256 it will be checked against; its early syncs stopped. None when what
        was written cannot be used (its space is then given back at once)."""
        with self._lock:
            flusher, self._flusher = self._flusher, None
            usable = not self.broken and self.size == size and (top, lead) == (self.top, self.lead)
            usable = usable and sha256 is not None  # else nothing would check the bytes
            try:
                if flusher is not None:
                    flusher.close()
                if usable:
                    # Renamed now, as the copy's temp file would have been made, so that the
                    # last step is a rename within one folder: two mounts of one filesystem
                    # refuse a rename between them although they share st_dev.
                    moved = dest.parent / f".{dest.name}.{os.getpid()}.{id(self):x}.part"
                    os.rename(self.path, moved)
                    self.path = moved
                    fd, self._fd = self._fd, -1  # the caller's to close from now on
                    return fd
            except OSError:
                pass
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            return None

    def discard(self) -> None:
        """Close and remove the file (where take() left it, unless it became the bundle) and
        its folder, whatever state they are in."""
        with self._lock:
            if self._flusher is not None:
                _quiet_close(self._flusher)
                self._flusher = None
            if self._fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = -1
                with contextlib.suppress(OSError):
                    self.path.unlink()
        shutil.rmtree(self.folder, ignore_errors=True)


def _lead_entries(top: str, lead: str) -> set[str]:
    """The lead member and its folders: the first entries of the archive."""
    return _directories([lead], top) | {f"{top}/{lead}"}


def _header(name: str, size: int, mode: int, kind: bytes, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.type = kind
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    try:
        return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict")
    except ValueError as exc:
        raise BundlerError(f"cannot store {name!r} in a ustar archive: {exc}") from None


def _directories(names: Iterable[str], top: str) -> set[str]:
    dirs = {top}
    for name in names:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add(f"{top}/{'/'.join(parts[:i])}")
    return dirs


def write_archive(
    dest: Path,
    top: str,
    members: list[Member],
    mtime: int,
    fmt: Format = "tar",
    lead: str | None = None,
    prefix: Prefix | None = None,
) -> str:
    """Write `members` under `top/` to `dest` atomically; return the archive's sha256. The
    member named `lead` comes first (_entries); `prefix`, when given, holds it already."""
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise BundlerError("internal: duplicate bundle member names")
    if lead is not None and lead not in names:
        raise BundlerError(f"internal: the lead member {lead} is not in the bundle")
    dest.parent.mkdir(parents=True, exist_ok=True)
    entries = _entries(top, members, lead)
    fd = None
    if prefix is not None and lead is not None and fmt == "tar":
        first = members[names.index(lead)]
        fd = prefix.take(top, lead, first.size, first.sha256, dest)
    # Entries the begun archive holds already: the lead and its folders.
    head = prefix.start // 512 if prefix is not None and fd is not None else 0
    if fd is None:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
    else:
        assert prefix is not None
        tmp = prefix.path
    try:
        with os.fdopen(fd, "r+b" if head else "wb") as raw, contextlib.ExitStack() as stop:
            hashing = _HashingWriter(raw)
            # Whatever happens, the sync thread stops before the file is closed.
            stop.callback(_quiet_close, hashing.flusher)
            out: BinaryIO
            if fmt == "tar.gz":
                out = gzip.GzipFile(  # type: ignore[assignment]
                    filename="",
                    mode="wb",
                    fileobj=hashing,
                    mtime=0,
                    compresslevel=6,
                )
            else:
                out = hashing  # type: ignore[assignment]
            written = 0
            if head:
                written = _adopt(raw, hashing, entries[:head], mtime)
                written += _pad(out, written)  # the headers are whole blocks: the lead's padding
            for arcname, member in entries[head:]:
                block = _entry_header(arcname, member, mtime)
                out.write(block)
                written += len(block)
                if member is not None:
                    plain = hashing if fmt == "tar" else None
                    written += _copy(member, member.size, out, plain)
            end = 2 * 512
            end += (-(written + end)) % RECORD
            out.write(bytes(end))
            if fmt == "tar.gz":
                out.close()
            raw.flush()
            raw.truncate()  # a begun archive holds nothing past what was hashed
            hashing.flusher.close()
            os.fsync(raw.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return hashing.hexdigest()


def _entries(top: str, members: list[Member], lead: str | None) -> list[tuple[str, Member | None]]:
    """Every entry of the archive, in its order: the lead member and its folders first (so it
    can be written while it downloads, Prefix), then the others sorted by name. A folder's
    entry has no member."""
    entries: list[tuple[str, Member | None]] = [
        (d, None) for d in _directories([m.name for m in members], top)
    ]
    entries += [(f"{top}/{m.name}", m) for m in members]
    first = _lead_entries(top, lead) if lead is not None else set()
    return sorted(entries, key=lambda e: (e[0] not in first, e[0]))


def _entry_header(arcname: str, member: Member | None, mtime: int) -> bytes:
    if member is None:
        return _header(arcname, 0, 0o755, tarfile.DIRTYPE, mtime)
    mode = 0o755 if member.executable else 0o644
    return _header(arcname, member.size, mode, tarfile.REGTYPE, mtime)


def _adopt(
    raw: BinaryIO, hashing: _HashingWriter, head: list[tuple[str, Member | None]], mtime: int
) -> int:
    """Complete a Prefix: write the headers of its entries (folders, then the lead), hash all
    it holds in order for the archive and check the lead's bytes against its sha256 on the way;
    the bytes it holds (the lead still unpadded)."""
    member = head[-1][1]
    assert member is not None
    blocks = b"".join(_entry_header(name, m, mtime) for name, m in head)
    if os.pwrite(raw.fileno(), blocks, 0) != len(blocks):
        raise OSError(errno.EIO, "short write of the archive's first headers")
    h = hashlib.sha256()
    hashing.read_back(0, len(blocks), None)
    hashing.read_back(len(blocks), member.size, h.update)
    raw.seek(len(blocks) + member.size)
    if h.hexdigest() != member.sha256:
        raise IntegrityError(
            f"{member.name}: the copy written into the bundle while it downloaded does not "
            f"match its sha256 (found {h.hexdigest()}, expected {member.sha256}); nothing was "
            "published; build again"
        )
    return len(blocks) + member.size


def _quiet_close(flusher: _Flusher) -> None:
    with contextlib.suppress(OSError):
        flusher.close()


def _copy(member: Member, size: int, out: BinaryIO, plain: _HashingWriter | None = None) -> int:
    """Copy one member's `size` bytes (its header's) and its tar padding; check them against
    member.sha256 unless they were hashed earlier in this build and their file's fingerprint
    still holds."""
    h = hashlib.sha256()
    source = member.source
    if not isinstance(source, bytes) and size <= CHUNK:
        # Small files (keys, the installer's modules): one read, no thread, no kernel copy.
        with open(source, "rb") as src:
            source = src.read(size)
        if len(source) != size:
            raise IntegrityError(f"{member.name}: shrank while it was copied")
    if isinstance(source, bytes):
        h.update(source)
        out.write(source)
    elif plain is not None:
        # Plain tar: the kernel copies, and the bytes are hashed as they are read back.
        trusted = member.verified is not None and fingerprint(source) == member.verified
        with open(source, "rb", buffering=0) as src:
            plain.copy_file(src.fileno(), size, None if trusted else h.update)
        if trusted:
            return size + _pad(out, size)
    else:
        # The member's hash on a thread of its own: reading, writing, this hash and the
        # archive's (gzip) run side by side.
        check = Fanout([h.update])
        copied = 0
        try:
            with open(source, "rb", buffering=0) as src:
                while copied < size and (chunk := src.read(min(CHUNK, size - copied))):
                    check.feed(chunk)
                    out.write(chunk)
                    copied += len(chunk)
        finally:
            check.close()
        if copied != size:
            raise IntegrityError(f"{member.name}: shrank while it was copied ({copied} of {size})")
    if member.sha256 is not None and h.hexdigest() != member.sha256:
        raise IntegrityError(
            f"{member.name}: changed since it was verified (sha256 {h.hexdigest()}, "
            f"expected {member.sha256}); build again with --paranoid to re-check the cache and "
            "fetch what changed anew"
        )
    return size + _pad(out, size)


def _pad(out: BinaryIO, size: int) -> int:
    pad = (-size) % 512
    if pad:
        out.write(bytes(pad))
    return pad


def sha256sums(files: dict[str, str]) -> bytes:
    """coreutils format, so `sha256sum -c SHA256SUMS` works with nothing installed."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items())).encode()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
