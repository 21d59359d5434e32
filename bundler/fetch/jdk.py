"""`bundler build --jdk FILE`: a JDK or JRE tarball the user supplies, carried in the bundle.

The installer falls back to it when the host has no suitable Java. It is read once: hashed
and its tar headers checked (one top folder, `bin/java` inside, nothing escaping, no link to
an absolute path) while its `release` file says which Java it is.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from bundler.errors import UnsafeArchiveError, UsageError
from bundler.fetch.tarscan import TarScanner

CHUNK = 1 << 20


@dataclass(frozen=True)
class Jdk:
    path: Path
    file: str
    top: str
    size: int
    sha256: str
    version: str  # JAVA_VERSION from the release file, e.g. "17.0.15" or "1.8.0_402"
    major: int


def java_major(version: str) -> int:
    """1.8.0_402 -> 8; 17.0.15 -> 17; 21 -> 21."""
    parts = re.findall(r"\d+", version)
    if not parts:
        raise ValueError(version)
    first = int(parts[0])
    return int(parts[1]) if first == 1 and len(parts) > 1 else first


def inspect_jdk(path: Path) -> Jdk:
    if not path.is_file():
        raise UsageError(f"--jdk {path}: no such file; expected a JDK or JRE .tar.gz")
    scanner = TarScanner(f"--jdk {path.name}", capture=frozenset({"release"}))
    h = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
                scanner.feed(chunk)
        summary = scanner.finish()
    except UnsafeArchiveError as exc:
        raise UsageError(
            f"{exc}; expected a .tar.gz of one JDK folder, made with `tar -czhf jdk.tar.gz DIR`"
        ) from None
    if len(summary.tops) != 1:
        found = ", ".join(sorted(summary.tops)[:3])
        raise UsageError(
            f"--jdk {path.name}: expected one top folder, found {found}; "
            "make it with `tar -czhf jdk.tar.gz <jdk folder>`"
        )
    (top,) = summary.tops
    if f"{top}/bin/java" not in summary.names:
        raise UsageError(f"--jdk {path.name}: no {top}/bin/java inside; not a JDK or JRE")
    release = summary.captured.get("release", b"").decode("utf-8", "replace")
    match = re.search(r'^JAVA_VERSION="?([^"\n]+)"?', release, re.M)
    if not match:
        raise UsageError(
            f"--jdk {path.name}: no JAVA_VERSION in {top}/release; expected a JDK 8+ layout"
        )
    version = match[1]
    return Jdk(path, path.name, top, size, h.hexdigest(), version, java_major(version))
