"""The shared download cache: it holds only verified files.

An entry is a folder assembled under tmp/ and renamed into place in one step after its
bytes were verified, so an entry that exists is complete; a build killed half way leaves
only a tmp/ folder, which nothing trusts and the next build sweeps. Builds running at once
serialise on a per-entry file lock: the second waits, then finds the entry ready.

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LAYOUT = "v1"
RECORD = "record.json"


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
    def __init__(self, root: Path) -> None:
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
        try:
            with open(entry / RECORD, encoding="utf-8") as fh:
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
