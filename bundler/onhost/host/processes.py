"""supervisord's pid file and /proc: whether a pid still runs, when it started, and whether
it is this installation's supervisord. Read only: the host facts, the sweep of a killed run's
leftovers, the installer and --uninstall ask here before they signal anything.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import errno
import os

from ..errors import warn
from .system import read_bytes

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Optional  # noqa: F401


def pid_alive(pid):
    # type: (int) -> bool
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    try:
        with open("/proc/%d/stat" % pid) as handle:
            # A zombie has stopped; only its parent's wait() is missing.
            return handle.read().rsplit(") ", 1)[1][:1] != "Z"
    except (IOError, OSError, IndexError):
        return True


def read_pid(pidfile):
    # type: (str) -> Optional[int]
    try:
        return int(read_bytes(pidfile).strip() or 0) or None
    except (IOError, OSError, ValueError):
        return None


def started_at(pid):
    # type: (int) -> Optional[str]
    """When pid started (clock ticks since boot, /proc/PID/stat's 22nd field): with the pid, it
    names one process, never a later one given the same number. None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(") ", 1)[1].split()[19]
    except (IOError, OSError, IndexError):
        return None


def ours(pid, conf_path):
    # type: (int, str) -> bool
    """Whether pid is this installation's supervisord: run by this installer's user and
    started with `-c conf_path`. A pid file is only a hint: this is what makes it safe to
    signal (a pid the service user wrote names anything)."""
    try:
        with open("/proc/%d/status" % pid) as handle:
            uids = [line.split()[1:] for line in handle if line.startswith("Uid:")][0]
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            args = handle.read().decode("utf-8", "replace").split("\0")
    except (IOError, OSError, IndexError):
        return False
    if any(int(u) != os.geteuid() for u in uids):
        return False
    named = any(a.endswith("/supervisord") for a in args)
    return named and any(args[i : i + 2] == ["-c", conf_path] for i in range(len(args)))


def supervisord_pid(pidfile, conf_path):
    # type: (str, str) -> Optional[int]
    """supervisord's pid from its pid file, only when that process is this installation's."""
    pid = read_pid(pidfile)
    if pid is None or ours(pid, conf_path):
        return pid
    warn("%s names pid %d, not this installation's supervisord: left alone" % (pidfile, pid))
    return None
