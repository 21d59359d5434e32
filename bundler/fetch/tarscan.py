"""Check a .tar.gz's entries while it downloads: no second pass over the bytes.

The scanner is fed the compressed stream chunk by chunk, inflates it, and reads only the
512-byte tar headers (ustar, GNU long names, pax paths); file data is skipped in place.
It refuses what must never be unpacked: absolute paths, `..`, device files, entries outside
the one expected top folder, and anything the installer's archive judge
(onhost/contract/archive.py, the same code on both sides) would refuse, such as links that leave
the folder once other links are followed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

# zlib-ng inflates these mostly incompressible tarballs about ten times as fast as the system
# zlib (docs/benchmarks.md): the scan then costs a fraction of the download's CPU.
from zlib_ng import zlib_ng

from bundler.errors import UnsafeArchiveError
from bundler.onhost.contract import archive

# zlib_ng's stub declares `error` as an instance; at run time it is the exception class.
_InflateError = cast("type[Exception]", zlib_ng.error)

BLOCK = 512
_DATA_TYPES = {b"0", b"\0", b"7"}
_LINK_TYPES = {b"1", b"2"}
_DIR_TYPE = b"5"
_META_TYPES = {b"L", b"K", b"x", b"g"}


@dataclass
class ArchiveSummary:
    tops: set[str] = field(default_factory=set)
    entries: int = 0
    names: set[str] = field(default_factory=set)
    captured: dict[str, bytes] = field(default_factory=dict)  # small files asked for by name
    # The newest entry mtime (seconds): the release's own date, so a bundle's default epoch
    # comes from its content and not from a mirror's Last-Modified header.
    newest_mtime: int = 0


def _octal(field_bytes: bytes) -> int:
    if field_bytes and field_bytes[0] & 0x80:  # GNU base-256 for large sizes
        value = int.from_bytes(field_bytes[1:], "big")
        return value
    text = field_bytes.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _cstr(field_bytes: bytes) -> str:
    return field_bytes.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        length = int(data[pos:space])
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _pax_mtime(value: str | None) -> int | None:
    try:
        return int(float(value)) if value else None
    except ValueError:
        return None


def safe_name(name: str, what: str) -> str:
    """The entry name normalised, or UnsafeArchiveError when it would escape."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{what}: entry {name!r} is an absolute path; refusing archive")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"{what}: entry {name!r} climbs out with '..'; refusing archive")
    return "/".join(parts)


class TarScanner:
    def __init__(
        self, what: str, expected_top: str | None = None, capture: frozenset[str] = frozenset()
    ) -> None:
        self.what = what
        self.expected_top = expected_top
        # Paths below the top folder whose (small) contents the caller wants, e.g. a JDK's
        # `release` file: read from the same stream, no second pass.
        self.capture = capture
        self.summary = ArchiveSummary()
        self._reset()

    def _reset(self) -> None:
        self._inflate = zlib_ng.decompressobj(zlib_ng.MAX_WBITS | 16)
        self._header = bytearray()
        self._skip = 0
        self._capture: bytearray | None = None
        self._capture_type = b""
        self._capture_name = ""
        self._capture_left = 0
        self._capture_size = 0
        self._long_name: str | None = None
        self._long_link: str | None = None
        self._pax: dict[str, str] = {}
        self._ended = False
        self.summary = ArchiveSummary()
        self._judge = archive.Judge(self.expected_top)

    def restart(self) -> None:
        self._reset()

    def feed(self, data: bytes) -> None:
        if self._ended:
            return
        try:
            out = self._inflate.decompress(data)
            while self._inflate.eof and self._inflate.unused_data:
                # Concatenated gzip members form one stream.
                rest = self._inflate.unused_data
                self._inflate = zlib_ng.decompressobj(zlib_ng.MAX_WBITS | 16)
                out += self._inflate.decompress(rest)
        except _InflateError as exc:
            raise UnsafeArchiveError(f"{self.what}: not a gzip stream ({exc})") from None
        self._consume(memoryview(out))

    def _consume(self, view: memoryview) -> None:
        i, n = 0, len(view)
        while i < n and not self._ended:
            if self._capture is not None:
                take = min(self._capture_left, n - i)
                self._capture += view[i : i + take]
                self._capture_left -= take
                i += take
                if self._capture_left == 0:
                    self._finish_capture()
                continue
            if self._skip:
                take = min(self._skip, n - i)
                self._skip -= take
                i += take
                continue
            take = min(BLOCK - len(self._header), n - i)
            self._header += view[i : i + take]
            i += take
            if len(self._header) == BLOCK:
                block = bytes(self._header)
                self._header.clear()
                self._on_header(block)

    def _finish_capture(self) -> None:
        assert self._capture is not None
        data = bytes(self._capture)
        size = self._capture_size
        self._capture = None
        self._skip = (-size) % BLOCK
        if self._capture_type == b"L":
            self._long_name = _cstr(data)
        elif self._capture_type == b"K":
            self._long_link = _cstr(data)
        elif self._capture_type == b"x":
            self._pax = _pax_records(data)
        elif self._capture_type == b"F":
            self.summary.captured[self._capture_name] = data

    def _on_header(self, block: bytes) -> None:
        if block == bytes(BLOCK):
            self._ended = True
            return
        size = _octal(block[124:136])
        kind = block[156:157]
        if kind in _META_TYPES:
            self._capture = bytearray()
            self._capture_type = kind
            self._capture_size = size
            self._capture_left = size
            if size == 0:
                self._finish_capture()
            return
        name = _cstr(block[0:100])
        if block[257:265] == b"ustar\x0000":  # POSIX only: GNU keeps other data there
            prefix = _cstr(block[345:500])
            if prefix:
                name = f"{prefix}/{name}"
        link = _cstr(block[157:257])
        name = self._pax.get("path") or self._long_name or name
        link = self._pax.get("linkpath") or self._long_link or link
        mtime = _pax_mtime(self._pax.get("mtime"))
        if mtime is None:
            mtime = _octal(block[136:148])
        self.summary.newest_mtime = max(self.summary.newest_mtime, mtime)
        self._long_name = self._long_link = None
        self._pax = {}
        self._check(name, kind, link)
        inner = safe_name(name, self.what).partition("/")[2]
        if inner in self.capture and kind in _DATA_TYPES and 0 < size <= 1 << 16:
            self._capture = bytearray()
            self._capture_type = b"F"
            self._capture_name = inner
            self._capture_size = size
            self._capture_left = size
            return
        self._skip = (size + BLOCK - 1) // BLOCK * BLOCK if kind not in _LINK_TYPES else 0
        if kind == _DIR_TYPE:
            self._skip = 0

    def _check(self, raw_name: str, kind: bytes, link: str) -> None:
        name = safe_name(raw_name, self.what)
        if not name:
            return  # "./" itself
        top = name.split("/", 1)[0]
        self.summary.tops.add(top)
        self.summary.entries += 1
        self.summary.names.add(name)
        if self._judge.top is not None and top != self._judge.top:
            return  # finish() names the stray top folders
        problem = self._judge.add(raw_name, archive.kind_of(kind), link)
        if problem:
            raise UnsafeArchiveError(f"{self.what}: entry {problem}; refusing archive")

    def finish(self) -> ArchiveSummary:
        if not self._ended and (self._header or self._skip or self._capture is not None):
            raise UnsafeArchiveError(f"{self.what}: archive is truncated")
        if self.summary.entries == 0:
            raise UnsafeArchiveError(f"{self.what}: archive has no entries")
        tops = self.summary.tops
        if self.expected_top is not None and tops != {self.expected_top}:
            found = ", ".join(sorted(tops)[:3])
            raise UnsafeArchiveError(
                f"{self.what}: expected everything under {self.expected_top}/, found {found}/; "
                "this is not the release's binary tarball (a source tarball?)"
            )
        problem = self._judge.finish()
        if problem:
            raise UnsafeArchiveError(f"{self.what}: entry {problem}; refusing archive")
        return self.summary
