"""A bundle in parts for removable media, and back: `bundler split` and `bundler join`.

    NAME.tar.part-001 ...   the bundle's bytes, in order, each at most SIZE bytes
    NAME.parts              each part's sha256, size and name, then the whole bundle's
    NAME.join.sh            the same check and join with only sh and coreutils

`NAME.parts`, one record a line (a `#` line is a comment):

    part <sha256> <size> <name>
    bundle <sha256> <size> <name>

Join checks every listed part before it writes a byte, names each missing, truncated or
damaged one (a part of another bundle or an older split is "damaged": its sha256 is not the
listed one), and writes the bundle under a temporary name, checks its sha256, and only then
renames it into place. Only the parts listed are read, so parts of different bundles or of an
older split are never mixed. A re-split removes the parts of the split it replaces.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bundler.errors import BundlerError, IntegrityError, UsageError
from bundler.fetch.cache import sha256_file

CHUNK = 1 << 20
HEADER = "# bundler parts 1: sha256, size and name of each part in order, then of the bundle\n"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^(\d+)([KMGT]?)(?:i?B)?$", re.IGNORECASE)
# FAT32 holds files of at most 4 GiB - 1 byte.
FAT32_MAX = (4 << 30) - 1
_NAME = re.compile(r"^[A-Za-z0-9._+-]+$")


@dataclass(frozen=True)
class Piece:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Listing:
    bundle: Piece
    parts: tuple[Piece, ...]

    def text(self) -> str:
        lines = [f"part {p.sha256} {p.size} {p.name}\n" for p in self.parts]
        b = self.bundle
        return HEADER + "".join(lines) + f"bundle {b.sha256} {b.size} {b.name}\n"


def parse_size(text: str) -> int:
    """`4G`, `700M`, `650MiB`, `1048576`: K, M, G and T are powers of 1024."""
    match = _SIZE.match(text.strip())
    if not match or int(match[1]) == 0:
        raise UsageError(
            f"--size {text!r}: expected a size such as 4095M, 700M or 1G (powers of 1024)"
        )
    return int(match[1]) * _UNITS[match[2].upper()]


def listing_path(bundle: Path) -> Path:
    """NAME.tar -> NAME.parts (NAME.tar.gz -> NAME.parts)."""
    name = bundle.name
    for suffix in (".tar.gz", ".tar"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return bundle.with_name(f"{name}.parts")


def script_path(listing: Path) -> Path:
    return listing.with_name(listing.name.removesuffix(".parts") + ".join.sh")


def read_listing(path: Path) -> Listing:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc}); expected a NAME.parts file") from None
    parts: list[Piece] = []
    bundle: Piece | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(" ")
        ok = (
            len(fields) == 4
            and fields[0] in ("part", "bundle")
            and re.fullmatch(r"[0-9a-f]{64}", fields[1]) is not None
            and fields[2].isdigit()
            and _NAME.match(fields[3]) is not None
        )
        if not ok or bundle is not None:
            raise UsageError(
                f"{path}:{number}: expected 'part|bundle <sha256> <size> <name>', found "
                f"{line[:80]!r}; the parts file is damaged, copy it again"
            )
        piece = Piece(fields[3], int(fields[2]), fields[1])
        if fields[0] == "part":
            parts.append(piece)
        else:
            bundle = piece
    if bundle is None or not parts:
        raise UsageError(f"{path}: no 'bundle' line or no parts; copy the .parts file again")
    if sum(p.size for p in parts) != bundle.size:
        raise UsageError(f"{path}: the part sizes do not add up to the bundle's; copy it again")
    return Listing(bundle, tuple(parts))


@contextlib.contextmanager
def _temp_beside(dest: Path) -> Iterator[Path]:
    """A temp file in dest's folder; removed unless the caller renamed it."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _write_atomic(dest: Path, data: bytes, mode: int = 0o644) -> None:
    with _temp_beside(dest) as tmp:
        tmp.write_bytes(data)
        tmp.chmod(mode)
        os.replace(tmp, dest)


def join_script(listing: Listing) -> str:
    """NAME.join.sh: check each part, join, check the whole; only sh and coreutils."""
    b = listing.bundle
    sums = "".join(f"{p.sha256}  {p.name}\n" for p in listing.parts)
    names = " ".join(p.name for p in listing.parts)
    line = f"{b.sha256}  {b.name}"
    refused = (
        f"{b.name} already exists and is not the bundle {b.name.split('.tar')[0]}.parts "
        f"describes (sha256 {b.sha256}); move it away and join again"
    )
    return f"""#!/bin/sh
# Rebuild {b.name} from its parts with only sh and coreutils (sha256sum, cat, mktemp, mv),
# and write {b.name}.sha256 beside it, as `bundler join` does.
# Run it in the folder that holds the parts: sh {b.name.split(".tar")[0]}.join.sh
set -eu
cd "$(dirname "$0")"
# Work in a new folder of our own (mktemp -d: mode 0700, a name nobody had), so no link can
# be waiting there; rename into place (-T: never into a folder).
work=$(mktemp -d .{b.name}.joining.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo '{line}' > "$work/{b.name}.sha256"
# 1. the bundle already there: the same one is left as it is (and gets its .sha256)
if [ -e {b.name} ] || [ -L {b.name} ]; then
    if [ -f {b.name} ] && [ ! -L {b.name} ] && echo '{line}' | sha256sum -c >/dev/null 2>&1; then
        mv -T "$work/{b.name}.sha256" {b.name}.sha256
        echo "{b.name}: already there, unchanged"
        exit 0
    fi
    echo "{refused}" >&2
    exit 1
fi
# 2. every part, before anything is written (a missing or damaged part is named)
sha256sum -c <<'SUMS'
{sums}SUMS
# 3. join, check the whole, then rename it and its .sha256 into place
cat {names} > "$work/{b.name}"
(cd "$work" && echo '{line}' | sha256sum -c)
mv -T "$work/{b.name}" {b.name}
mv -T "$work/{b.name}.sha256" {b.name}.sha256
echo "{b.name}: rebuilt from {len(listing.parts)} parts"
"""


@dataclass(frozen=True)
class SplitResult:
    bundle: Path
    listing: Path
    script: Path
    parts: list[Path]
    removed: list[Path]


def split(bundle: Path, size: int, out_dir: Path | None = None) -> SplitResult:
    if not bundle.is_file():
        raise UsageError(f"{bundle}: no such file; expected a bundle .tar or .tar.gz")
    if not _NAME.match(bundle.name):
        raise UsageError(f"{bundle.name}: only letters, digits and . _ + - are allowed in the name")
    out = out_dir or bundle.parent
    out.mkdir(parents=True, exist_ok=True)
    listing_file = out / listing_path(bundle).name
    old: Listing | None = None
    if listing_file.exists():
        old = read_listing(listing_file)
    whole = hashlib.sha256()
    staged: list[tuple[Path, Piece]] = []
    total = bundle.stat().st_size
    count = max(1, -(-total // size))
    if count > 999:
        raise UsageError(f"--size {size}: {count} parts; at most 999, pick a larger size")
    try:
        with open(bundle, "rb") as src:
            for index in range(1, count + 1):
                name = f"{bundle.name}.part-{index:03d}"
                fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=out)
                tmp = Path(tmp_name)
                staged.append((tmp, Piece(name, 0, "")))
                h = hashlib.sha256()
                written = 0
                with os.fdopen(fd, "wb") as dst:
                    while written < size:
                        chunk = src.read(min(CHUNK, size - written))
                        if not chunk:
                            break
                        dst.write(chunk)
                        h.update(chunk)
                        whole.update(chunk)
                        written += len(chunk)
                    dst.flush()
                    os.fsync(dst.fileno())
                tmp.chmod(0o644)
                staged[-1] = (tmp, Piece(name, written, h.hexdigest()))
        listing = Listing(Piece(bundle.name, total, whole.hexdigest()), tuple(p for _, p in staged))
        # The parts first, the listing last: until it is renamed, the old listing's hashes
        # refuse any mixture of old and new parts.
        paths = []
        for tmp, piece in staged:
            os.replace(tmp, out / piece.name)
            paths.append(out / piece.name)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
    removed = []
    keep = {p.name for p in listing.parts}
    for piece in old.parts if old else ():
        stale = out / piece.name
        if piece.name not in keep and stale.is_file():
            stale.unlink()
            removed.append(stale)
    script = script_path(listing_file)
    _write_atomic(script, join_script(listing).encode(), 0o755)
    _write_atomic(listing_file, listing.text().encode())
    return SplitResult(bundle, listing_file, script, paths, removed)


@dataclass(frozen=True)
class JoinResult:
    bundle: Path
    sha256: str
    parts: int
    already: bool


def check_parts(listing_file: Path, listing: Listing) -> None:
    """Every problem with the parts, named, before anything is written."""
    folder = listing_file.parent
    problems = []
    for piece in listing.parts:
        path = folder / piece.name
        if not path.is_file():
            problems.append(f"{piece.name}: missing")
            continue
        size = path.stat().st_size
        if size < piece.size:
            problems.append(f"{piece.name}: truncated ({size} bytes, expected {piece.size})")
        elif size > piece.size:
            problems.append(
                f"{piece.name}: {size} bytes, expected {piece.size} (a part of another bundle?)"
            )
        elif sha256_file(path) != piece.sha256:
            problems.append(
                f"{piece.name}: sha256 differs (damaged, or a part of another bundle or split)"
            )
    if problems:
        raise IntegrityError(
            f"{listing_file.name}: {len(problems)} of {len(listing.parts)} parts unusable: "
            + "; ".join(problems)
            + "; copy those parts again from the same split"
        )


def join(listing_file: Path, output: Path | None = None) -> JoinResult:
    listing = read_listing(listing_file)
    dest = output or listing_file.parent / listing.bundle.name
    if not dest.parent.is_dir():
        raise UsageError(f"--out {dest}: no folder {dest.parent}; create it first")
    if dest.exists():
        same_size = dest.is_file() and dest.stat().st_size == listing.bundle.size
        if same_size and sha256_file(dest) == listing.bundle.sha256:
            write_sidecar(dest, listing.bundle.sha256)
            return JoinResult(dest, listing.bundle.sha256, len(listing.parts), True)
        raise BundlerError(
            f"{dest}: already exists and is not the bundle {listing_file.name} describes "
            f"(sha256 {listing.bundle.sha256}); move it away and join again"
        )
    check_parts(listing_file, listing)
    whole = hashlib.sha256()
    with _temp_beside(dest) as tmp:
        with open(tmp, "wb") as out:
            for piece in listing.parts:
                h = hashlib.sha256()
                with open(listing_file.parent / piece.name, "rb") as src:
                    while chunk := src.read(CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        whole.update(chunk)
                # Read again while joining: a part changed since the check is caught here.
                if h.hexdigest() != piece.sha256:
                    raise IntegrityError(f"{piece.name}: changed while joining; join again")
            out.flush()
            os.fsync(out.fileno())
        if whole.hexdigest() != listing.bundle.sha256:
            raise IntegrityError(
                f"{dest.name}: joined sha256 {whole.hexdigest()}, expected "
                f"{listing.bundle.sha256}; the parts file and parts disagree"
            )
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    write_sidecar(dest, listing.bundle.sha256)
    return JoinResult(dest, listing.bundle.sha256, len(listing.parts), False)


def write_sidecar(bundle: Path, sha256: str) -> None:
    """BUNDLE.sha256 as `bundler build` writes it, which `verify` and the playbooks read."""
    _write_atomic(sidecar_path(bundle), f"{sha256}  {bundle.name}\n".encode())


def sidecar_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".sha256")
