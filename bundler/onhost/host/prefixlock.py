"""One run at a time per prefix: PREFIX/state/lock, an flock held until the run's process
exits. It is taken before the first change (a fresh prefix: under a short lock of its parent
folder while the prefix and state/ are made), and a run that finds it held stops at once, also
before planning (a prefix half-made by the other run is not a foreign folder).

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import fcntl
import os

from ..errors import InstallError

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import IO, Any, Optional  # noqa: F401

    from .host import Host  # noqa: F401

LOCK = "state/lock"
FOLDERS = (("", 0o755), ("state", 0o700))  # as ownership.PREFIX_DIRS makes them


def busy(prefix):
    # type: (str) -> InstallError
    return InstallError("another install.sh is working on %s; wait for it to finish" % prefix)


def held_by_another(prefix):
    # type: (str) -> bool
    """Whether another process holds prefix's lock (a link there is not followed: no)."""
    try:
        fd = os.open(os.path.join(prefix, *LOCK.split("/")), os.O_RDONLY | os.O_NOFOLLOW)
    except (IOError, OSError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except (IOError, OSError):
        return True
    finally:
        os.close(fd)


def take(host):
    # type: (Host) -> IO[Any]
    """Make the prefix and state/ if needed and take the lock; raises when another run holds
    it. The returned file must stay open for as long as the run."""
    guard = None  # type: Optional[int]
    try:
        guard = os.open(os.path.dirname(host.prefix), os.O_RDONLY)
        fcntl.flock(guard, fcntl.LOCK_EX)
    except (IOError, OSError):
        pass  # no parent folder: making the prefix fails below, saying so
    try:
        for rel, mode in FOLDERS:
            host.ensure_dir(rel, mode)
        handle = open(host.abs(LOCK), "a")  # noqa: SIM115
        held = True
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError):
            held = False
        if not held:
            handle.close()
            raise busy(host.prefix)
        return handle
    finally:
        if guard is not None:
            os.close(guard)  # releases the parent's lock
