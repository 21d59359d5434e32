"""Every checksum file format Apache has published -> (algorithm, digest); hashing helpers.

Formats seen in the wild, all accepted:
  coreutils   `<hex>  <name>` or `<hex> *<name>`
  BSD         `SHA512 (<name>) = <hex>`
  gpg         `<name>: E7C22B99 4C59D9CF ...` upper-case groups wrapped over several lines,
              also `<name>: SHA512 = ...` from `gpg --print-mds`
  bare        the hex digest alone
The digest's length names the algorithm; the file extension is only a hint.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bundler.errors import IntegrityError

# Strongest first. MD5 and SHA-1 only detect corruption; signatures stop tampering.
STRENGTH = ("sha512", "sha256", "sha1", "md5")
WEAK = frozenset({"md5", "sha1"})
_BY_LENGTH = {128: "sha512", 64: "sha256", 40: "sha1", 32: "md5"}

_BSD = re.compile(r"^\s*(?P<alg>[A-Za-z0-9-]+)\s*\((?P<name>.+)\)\s*=\s*(?P<hex>[0-9A-Fa-f\s]+)$")
_COREUTILS = re.compile(r"^\s*(?P<hex>[0-9A-Fa-f]{32,128})\s+[ *]?(?P<name>\S.*?)\s*$")
_HEXISH = re.compile(r"^[0-9A-Fa-f\s]+$")
# A gpg-style entry starts at a line whose text before the first colon is a file name.
_GPG_START = re.compile(
    r"^(?P<name>[^\s:][^:]*?)\s*:\s*(?:(?P<alg>[A-Za-z0-9-]+)\s*=\s*)?(?P<hex>.*)$"
)


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: str  # lower-case hex
    name: str | None  # the file name the entry names, when it names one


def _algorithm(hex_digest: str) -> str | None:
    return _BY_LENGTH.get(len(hex_digest))


def _entry(hex_text: str, name: str | None) -> Checksum | None:
    digest = re.sub(r"\s+", "", hex_text).lower()
    if not re.fullmatch(r"[0-9a-f]+", digest):
        return None
    algorithm = _algorithm(digest)
    return Checksum(algorithm, digest, name) if algorithm else None


def parse(text: str) -> list[Checksum]:
    """Every checksum entry in a checksum file, in file order."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    entries: list[Checksum] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if m := _BSD.match(line):
            if entry := _entry(m["hex"], m["name"].strip()):
                entries.append(entry)
            continue
        if m := _COREUTILS.match(line):
            if entry := _entry(m["hex"], m["name"].lstrip("*").strip()):
                entries.append(entry)
            continue
        if _HEXISH.match(line):
            # Bare hex, possibly wrapped over several lines.
            hex_text = line
            while i < len(lines) and lines[i].strip() and _HEXISH.match(lines[i]):
                hex_text += lines[i]
                i += 1
            if entry := _entry(hex_text, None):
                entries.append(entry)
            continue
        if m := _GPG_START.match(line):
            hex_text = m["hex"]
            # Continuation lines are indented hex groups.
            while i < len(lines) and lines[i][:1].isspace() and _HEXISH.match(lines[i]):
                hex_text += lines[i]
                i += 1
            if entry := _entry(hex_text, m["name"].strip()):
                entries.append(entry)
    return entries


def for_file(text: str, file_name: str) -> list[Checksum]:
    """Entries that apply to `file_name`: those naming it, else all unnamed ones.

    A file with a single entry naming another file is still returned: the digest comparison
    is what decides, and Apache has published checksums made under temporary names.
    """
    entries = parse(text)
    named = [e for e in entries if e.name and e.name.rsplit("/", 1)[-1] == file_name]
    if named:
        return named
    unnamed = [e for e in entries if e.name is None]
    if unnamed:
        return unnamed
    return entries if len(entries) == 1 else []


def strongest(checksums: Iterable[Checksum]) -> Checksum | None:
    ranked = sorted(checksums, key=lambda c: STRENGTH.index(c.algorithm))
    return ranked[0] if ranked else None


class MultiHash:
    """Several digests over one stream of bytes, so the bytes are read once."""

    def __init__(self, algorithms: Iterable[str]) -> None:
        self._hashers = {alg: hashlib.new(alg) for alg in sorted(set(algorithms))}

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self._hashers)

    def update(self, data: bytes | memoryview) -> None:
        for hasher in self._hashers.values():
            hasher.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {alg: h.hexdigest() for alg, h in self._hashers.items()}


def same(expected: str, actual: str) -> bool:
    return hmac.compare_digest(expected.lower(), actual.lower())


def check(what: str, algorithm: str, expected: str, actual: str) -> None:
    if not same(expected, actual):
        raise IntegrityError(
            f"{what}: {algorithm} mismatch: expected {expected}, got {actual}; "
            "the bytes are corrupt or tampered with"
        )
