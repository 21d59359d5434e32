"""Failures of the local filesystem as one line with the path and a fix (exit 4).

The cache and the output folder are checked before anything is downloaded, and an OSError
while writing either (disk full, read-only, a file in the way) is reported with the folder
and the option that moves it, instead of an internal error.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from bundler.errors import FilesystemError

# OSErrors that say something about the folder, not about bundler; others stay bugs.
_FOLDER_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTDIR,
    errno.EEXIST,
    errno.EISDIR,
    errno.ENOENT,
}


def _first_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def device(path: Path) -> int:
    """The filesystem `path` is on, or would be on once created."""
    return _first_existing(path.absolute()).stat().st_dev


def check_folder(folder: Path, what: str, option: str) -> None:
    """Fail now, before any download, when `folder` cannot be created or written."""
    probe = _first_existing(folder.absolute())
    if not probe.is_dir():
        raise FilesystemError(
            f"{what} {folder}: {probe} is a file, expected a folder; "
            f"move it away or pass {option} with another folder"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise FilesystemError(
            f"{what} {folder}: cannot write in {probe} (read-only or no permission); "
            f"pass {option} with a folder you can write"
        )


def describe(exc: OSError, what: str, folder: Path, option: str) -> FilesystemError:
    """The one-line error for an OSError met while writing under `folder`."""
    path = Path(str(exc.filename)) if exc.filename else folder
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return FilesystemError(
            f"no space left on the device holding {what} {folder} (writing {path}); "
            f"free some space or pass {option} with a folder on another disk"
        )
    if code == errno.EROFS:
        return FilesystemError(
            f"{what} {folder} is on a read-only file system (writing {path}); "
            f"pass {option} with a writable folder"
        )
    if code in (errno.EACCES, errno.EPERM):
        return FilesystemError(
            f"cannot write {path}: permission denied; make {folder} writable or pass "
            f"{option} with a folder you can write"
        )
    if code in (errno.ENOTDIR, errno.EEXIST):
        blocker = _first_existing(path)
        return FilesystemError(
            f"{what} {folder}: {blocker} is a file where a folder is needed; move it away "
            f"or pass {option} with another folder"
        )
    if code == errno.EISDIR:
        if exc.filename2:  # a rename onto a folder: that folder is the one in the way
            path = Path(str(exc.filename2))
        return FilesystemError(
            f"{path} is a folder where {what} needs to write a file; move it away or pass "
            f"{option} with another folder"
        )
    return FilesystemError(
        f"{path} disappeared while {what} {folder} was written (a folder removed under us?); "
        "build again"
    )


@contextlib.contextmanager
def writing(what: str, folder: Path, option: str) -> Iterator[None]:
    """Turn the folder's OSErrors raised inside into FilesystemError."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _FOLDER_ERRNOS or type(exc).__module__.startswith(
            ("requests", "urllib3")
        ):
            raise
        raise describe(exc, what, folder, option) from None
