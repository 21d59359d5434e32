"""The shared download cache: it holds only verified files.

An entry is a folder assembled under tmp/ and renamed into place in one step after its
bytes were verified, so an entry that exists is complete; a build killed half way leaves
only a tmp/ folder, which nothing trusts and the next build sweeps. Builds running at once
serialise on a per-entry file lock: the second waits, then finds the entry ready.

Each entry's record keeps the sha256 its bytes were verified with and the file's stat
fingerprint (size, mtime_ns, inode, ctime_ns). While the fingerprint holds the hash is trusted
and the file is not read again (a warm build costs a stat); when it changed, or with
--paranoid, the file is re-hashed: same bytes, the new fingerprint is recorded; other bytes,
the entry is evicted and fetched again (the cache heals itself).

    <root>/v1/artifacts/<mirror path>/   the tarball, its checksum and .asc files, record.json
    <root>/v1/wheels/<sha256>/<file>     a locked wheel, named by its hash
    <root>/v1/keys/<project>/            KEYS fetched from apache.org, record.json
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from bundler.onhost.sha256check import digest

LAYOUT = "v1"
RECORD = "record.json"

# What a look at a cached file found: trusted on its fingerprint, re-hashed and the same,
# or re-hashed and different (rotten, to be evicted).
Freshness = Literal["trusted", "rehashed", "changed"]


def fingerprint(path: Path) -> dict[str, int]:
    st = path.stat()
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ino": st.st_ino,
        "ctime_ns": st.st_ctime_ns,
    }


def sha256_file(path: Path) -> str:
    """The file's sha256, hashed as the installer hashes it (onhost/sha256check.py)."""
    return digest(str(path))


def default_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bundler"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Cache:
    def __init__(self, root: Path, paranoid: bool = False) -> None:
        self.paranoid = paranoid  # re-hash every file, whatever its fingerprint says
        self.root = root / LAYOUT
        for sub in ("artifacts", "wheels", "keys", "tmp", "locks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._sweep()

    def _sweep(self) -> None:
        """Remove tmp folders of builds that are no longer running."""
        for entry in (self.root / "tmp").iterdir():
            pid_text = entry.name.split("-", 1)[0]
            if pid_text.isdigit() and not _pid_alive(int(pid_text)):
                shutil.rmtree(entry, ignore_errors=True)

    def artifact_dir(self, mirror_path: str) -> Path:
        return self.root / "artifacts" / mirror_path

    def wheel_dir(self, sha256: str) -> Path:
        return self.root / "wheels" / sha256

    def keys_dir(self, project: str) -> Path:
        return self.root / "keys" / project

    def sbom_dir(self) -> Path:
        """SBOMs rendered before, by the digest of what they were made from (sbom.memo_key)."""
        return self.root / "sbom"

    def tmpdir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.root / "tmp"))

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        with open(self.root / "locks" / f"{name}.lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def freshness(self, path: Path, sha256: str, known: Any) -> tuple[Freshness, dict[str, int]]:
        """Whether `path` still holds the bytes verified as `sha256`, and its fingerprint now.

        `known` is the fingerprint recorded when the hash was last computed."""
        now = fingerprint(path)
        if not self.paranoid and known == now:
            return "trusted", now
        return ("rehashed" if sha256_file(path) == sha256 else "changed"), now

    def rotten(self, entry: Path, record: dict[str, Any], say: Callable[[str], None]) -> str | None:
        """What in a cache entry no longer holds the bytes that were verified, or None.

        The artifact's hash is trusted while its stat fingerprint holds (re-hashed otherwise,
        and always under --paranoid; a re-hash that matches is remembered, and said); the small
        sidecars are re-hashed every time."""
        name = record.get("file", "")
        try:
            state, now = self.freshness(entry / name, record["sha256"], record.get("fingerprint"))
            if state == "changed":
                return f"{name} no longer matches the sha256 it was verified with"
            for side, digest in record.get("sidecar_sha256", {}).items():
                if sha256_file(entry / side) != digest:
                    return f"{side} no longer matches the sha256 it was verified with"
        except FileNotFoundError as exc:
            return f"{Path(str(exc.filename)).name} is missing from the cache entry"
        except KeyError as exc:
            return f"{name} has an incomplete cache entry (no {exc})"
        if state == "rehashed":
            record["fingerprint"] = now
            self.update_record(entry, record)
            say(f"re-hashed cached {name}: unchanged")
        return None

    def commit(self, staged: Path, final: Path, record: dict[str, Any] | None = None) -> None:
        """Move a verified staging folder into place in one rename."""
        if record is not None:
            write_json(staged / RECORD, record)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            shutil.rmtree(final)
        os.rename(staged, final)

    def evict(self, final: Path) -> None:
        """Take an entry out of use first (rename), then delete it."""
        if not final.exists():
            return
        doomed = self.tmpdir()
        os.rename(final, doomed / "evicted")
        shutil.rmtree(doomed, ignore_errors=True)

    @staticmethod
    def read_record(entry: Path) -> dict[str, Any] | None:
        return Cache.read_record_file(entry / RECORD)

    @staticmethod
    def read_record_file(path: Path) -> dict[str, Any] | None:
        """A JSON object from the cache, or None when it is missing or not one."""
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    @staticmethod
    def update_record(entry: Path, record: dict[str, Any]) -> None:
        write_json(entry / RECORD, record)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: temp file in the same folder, fsync, rename."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
