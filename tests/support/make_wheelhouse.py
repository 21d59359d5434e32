#!/usr/bin/env python3
"""Download from PyPI every wheel that the supervisord locks pin, into one flat directory.

For each lock recipes/python/supervisor-<version>/py<X.Y>.txt, every pinned requirement's wheels
that install on Python X.Y (pure-Python tags, platform `any`) are fetched from PyPI, checked
against the lock's hashes, and written atomically. Files already present with a locked hash are
left alone; nothing else is written. The build host's pip configuration plays no part: the
files come from PyPI's simple API, so a local mirror or find-links cannot slip in.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, compatible_tags
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCKS_DIR = REPO / "recipes" / "python"
SIMPLE_URL = "https://pypi.org/simple"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
TIMEOUT = 60
CHUNK = 1 << 16

_LOCK_NAME_RE = re.compile(r"^py(\d+)\.(\d+)\.txt$")
_HASH_RE = re.compile(r"^--hash=sha256:([0-9a-f]{64})$")


class WheelhouseError(Exception):
    """The wheelhouse cannot be made; the message says why."""


@dataclass(frozen=True)
class LockedRequirement:
    """One `name==version` line of a hashed lock."""

    name: NormalizedName
    version: str
    marker: str | None
    hashes: frozenset[str]


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with backslash continuations joined and comments dropped, as pip reads them."""
    pending = ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s+)#.*$", "", raw)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            yield line
    if pending.strip():
        yield pending.strip()


def parse_lock(path: Path) -> list[LockedRequirement]:
    """The requirements of a pip-compile lock; each must be `==`-pinned and sha256-hashed."""
    locked: list[LockedRequirement] = []
    for line in _logical_lines(path.read_text()):
        requirement_text, *options = re.split(r"\s+(?=--)", line)
        hashes = set()
        for option in options:
            match = _HASH_RE.match(option)
            if match is None:
                raise WheelhouseError(f"{path}: unexpected option {option!r} in {line!r}")
            hashes.add(match.group(1))
        try:
            requirement = Requirement(requirement_text)
        except InvalidRequirement as exc:
            raise WheelhouseError(f"{path}: {exc}") from exc
        specs = list(requirement.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            raise WheelhouseError(f"{path}: {requirement_text!r} is not pinned with ==")
        if requirement.url or requirement.extras:
            raise WheelhouseError(f"{path}: {requirement_text!r}: URLs and extras not supported")
        if not hashes:
            raise WheelhouseError(f"{path}: {requirement_text!r} has no --hash")
        locked.append(
            LockedRequirement(
                name=canonicalize_name(requirement.name),
                version=specs[0].version,
                marker=str(requirement.marker) if requirement.marker else None,
                hashes=frozenset(hashes),
            )
        )
    return locked


def lock_python(path: Path) -> tuple[int, int]:
    """Target Python (major, minor) of a lock, from its file name."""
    match = _LOCK_NAME_RE.match(path.name)
    if match is None:
        raise WheelhouseError(f"{path}: lock names must be py<X.Y>.txt")
    return int(match.group(1)), int(match.group(2))


def find_locks(locks_dir: Path) -> list[Path]:
    return sorted(p for p in locks_dir.glob("supervisor-*/py*.txt") if _LOCK_NAME_RE.match(p.name))


def installable_tags(python: tuple[int, int]) -> frozenset[Tag]:
    """Tags of pure-Python wheels that pip on this Python installs."""
    interpreter = f"cp{python[0]}{python[1]}"
    return frozenset(compatible_tags(python, interpreter, ["any"]))


@dataclass
class Wanted:
    """A wheel to have in the wheelhouse, with the locks that need it."""

    filename: str
    url: str
    sha256: str
    locks: list[str] = field(default_factory=list)


class PyPI:
    """PyPI's simple API (JSON form), one listing per project, fetched once."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session
        self._files: dict[str, list[dict[str, Any]]] = {}

    def files(self, name: str) -> list[dict[str, Any]]:
        if name not in self._files:
            url = f"{SIMPLE_URL}/{name}/"
            try:
                response = self._session.get(url, headers={"Accept": SIMPLE_JSON}, timeout=TIMEOUT)
                response.raise_for_status()
                data = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise WheelhouseError(f"cannot list {url}: {exc}") from exc
            self._files[name] = list(data["files"])
        return self._files[name]


def plan(locks: Sequence[Path], pypi: PyPI) -> dict[str, Wanted]:
    """filename -> wheel, for every installable wheel of every locked requirement."""
    wanted: dict[str, Wanted] = {}
    for lock in locks:
        python = lock_python(lock)
        tags = installable_tags(python)
        label = str(lock.relative_to(REPO)) if lock.is_relative_to(REPO) else str(lock)
        # pip-compile ran under the lock's own Python and left out every requirement whose
        # marker was false there, so each line applies to that Python.
        for req in parse_lock(lock):
            found = 0
            for entry in pypi.files(req.name):
                filename = str(entry["filename"])
                try:
                    name, version, _build, file_tags = parse_wheel_filename(filename)
                except InvalidWheelFilename:
                    continue  # an sdist
                if name != req.name or version != Version(req.version):
                    continue
                if tags.isdisjoint(file_tags):
                    continue
                sha256 = str(entry.get("hashes", {}).get("sha256", ""))
                if sha256 not in req.hashes:
                    print(
                        f"warning: {filename} is on PyPI but not in {label}; skipped",
                        file=sys.stderr,
                    )
                    continue
                found += 1
                item = wanted.setdefault(filename, Wanted(filename, str(entry["url"]), sha256))
                item.locks.append(label)
            if not found:
                raise WheelhouseError(
                    f"{label}: no locked wheel of {req.name}=={req.version} installs on "
                    f"Python {python[0]}.{python[1]}"
                )
    return wanted


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(session: requests.Session, item: Wanted, out: Path) -> None:
    """Fetch one wheel into `out`, replacing the destination only once its hash is right."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{item.filename}.", suffix=".part", dir=out)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as fh:
            try:
                with session.get(item.url, stream=True, timeout=TIMEOUT) as response:
                    response.raise_for_status()
                    for chunk in response.iter_content(CHUNK):
                        digest.update(chunk)
                        fh.write(chunk)
            except requests.RequestException as exc:
                raise WheelhouseError(f"cannot download {item.url}: {exc}") from exc
            fh.flush()
            os.fsync(fh.fileno())
        if digest.hexdigest() != item.sha256:
            raise WheelhouseError(
                f"{item.filename}: sha256 {digest.hexdigest()} is not the locked {item.sha256}"
            )
        tmp.chmod(0o644)
        os.replace(tmp, out / item.filename)
    finally:
        tmp.unlink(missing_ok=True)


def make_wheelhouse(out: Path, locks_dir: Path = LOCKS_DIR) -> list[str]:
    """Fill `out` with the locked wheels; return their file names."""
    locks = find_locks(locks_dir)
    if not locks:
        raise WheelhouseError(f"no locks under {locks_dir}: run `make locks` first")
    out.mkdir(parents=True, exist_ok=True)
    with requests.Session() as session:
        wanted = plan(locks, PyPI(session))
        for filename in sorted(wanted):
            item = wanted[filename]
            dest = out / filename
            if dest.is_file() and _sha256(dest) == item.sha256:
                print(f"present     {filename}")
                continue
            download(session, item, out)
            print(f"downloaded  {filename}")
    return sorted(wanted)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="wheelhouse directory")
    parser.add_argument(
        "--locks",
        type=Path,
        default=LOCKS_DIR,
        help="directory holding supervisor-<version>/py<X.Y>.txt (default: recipes/python)",
    )
    args = parser.parse_args(argv)
    try:
        files = make_wheelhouse(args.out.resolve(), args.locks.resolve())
    except (WheelhouseError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(files)} wheels in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
