"""PREFIX/state/written/: a copy of every file the last run wrote, as it wrote it (mode kept;
root's, in the 0700 state/ folder), so that a check needs no bundle to say what a hand edit
changed (check.py). The web password is never copied: the record's sha256 says whether it
changed.

Part of the state record: written silently (like state/installed.json) after the file itself,
never under --dry-run, removed by --uninstall.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import os
import shutil

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Callable, Iterable, Optional, Tuple  # noqa: F401

FOLDER = "state/written"
# Secrets: the record's sha256 only.
NOT_COPIED = ("etc/web-password",)
# Their mode, as the installer writes them.
SECRET_MODE = 0o600


def path_of(prefix, rel):
    # type: (str, str) -> str
    return os.path.join(prefix, *(FOLDER + "/" + rel).split("/"))


def save(prefix, files, write):
    # type: (str, Iterable[Tuple[str, bytes, int]], Callable[[str, bytes, int], None]) -> None
    """Keep a copy of each (rel, data, mode) through write(path, data, mode) (an atomic
    write), and remove the copies of files no longer written."""
    kept = set()
    for rel, data, mode in files:
        if rel in NOT_COPIED:
            continue
        path = path_of(prefix, rel)
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o700)
        if read(prefix, rel) != data or mode_of(prefix, rel) != mode:
            write(path, data, mode)
        kept.add(os.path.normpath(path))
    top = os.path.join(prefix, *FOLDER.split("/"))
    for folder, _, names in os.walk(top, topdown=False):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.normpath(path) not in kept:
                os.unlink(path)
        if folder != top and not os.listdir(folder):
            os.rmdir(folder)


def read(prefix, rel):
    # type: (str, str) -> Optional[bytes]
    """The copy of what the last run wrote to rel, None when there is none."""
    try:
        with open(path_of(prefix, rel), "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def mode_of(prefix, rel):
    # type: (str, str) -> Optional[int]
    try:
        return os.stat(path_of(prefix, rel)).st_mode & 0o7777
    except OSError:
        return None


def remove(prefix):
    # type: (str) -> None
    shutil.rmtree(os.path.join(prefix, *FOLDER.split("/")), ignore_errors=True)
