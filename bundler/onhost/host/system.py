"""Small helpers over the standard library: run a command, find one on PATH, read bytes."""

from __future__ import absolute_import, print_function

import hashlib
import os
import subprocess
import sys
import time

from . import boundary

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union  # noqa: F401


def sha256_bytes(data):
    # type: (bytes) -> str
    return hashlib.sha256(data).hexdigest()


def read_bytes(path):
    # type: (str) -> bytes
    """A file's bytes; in a folder the service user can change, read as that user (never
    through a link of theirs: boundary.py)."""
    return boundary.read(path)


def to_bytes(text):
    # type: (Union[str, bytes]) -> bytes
    return text if isinstance(text, bytes) else text.encode("utf-8")


def which(name, path=None):
    # type: (str, Optional[str]) -> Optional[str]
    if "/" in name:
        return name if os.access(name, os.X_OK) and os.path.isfile(name) else None
    for folder in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        candidate = os.path.join(folder or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def run(cmd, timeout=120, env=None, cwd=None):
    # type: (List[str], int, Optional[Dict[str, str]], Optional[str]) -> Tuple[Optional[int], str]
    """(exit code, combined output) of cmd; (None, reason) when it cannot run or times out.
    Python 2 has no subprocess timeouts, hence the polling."""
    try:
        with open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(
                cmd,
                stdin=devnull,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                close_fds=True,
            )
    except (OSError, IOError) as exc:
        return None, str(exc)
    deadline = time.time() + timeout
    if timeout and sys.version_info[0] >= 3:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None, "timed out after %ds" % timeout
    else:
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
            return None, "timed out after %ds" % timeout
        out, _ = proc.communicate()
    return proc.returncode, out.decode("utf-8", "replace")


def read_or_none(path):
    # type: (str) -> Optional[bytes]
    try:
        return read_bytes(path)
    except (IOError, OSError):
        return None


def clean_env():
    # type: () -> Dict[str, str]
    """This process's environment without what would steer a Python or pip elsewhere."""
    return dict(
        (k, v) for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))
    )
