"""Ending a process a test started: TERM, a grace period, then KILL, always reaped."""

from __future__ import annotations

import subprocess
from typing import Any


def end(proc: subprocess.Popen[Any], grace: float = 10) -> None:
    """Ask proc to stop, and kill it when it has not within grace seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
