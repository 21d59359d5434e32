"""glibc heap settings for a process that passes 1 MiB buffers between threads.

A build hands every chunk of a download to several threads (bundler/fetch/fanout.py). glibc keeps
what those threads free in per-thread arenas and, once a freed buffer sits below a live one,
in holes it does not give back: the peak memory then wanders with thread timing and with the
sizes a server happens to send (a 1 GiB artifact from a mirror throttled per connection, so
that the download splits: 106 to 138 MB, where a fast mirror gave 70 to 76 MB). Two arenas and
a trim of the free pages every TRIM_EVERY bytes keep it flat (72 to 78 MB split, measured with
the bench's memory scenario, which now times both). The price: pages given back are faulted
in again, about 0.1 to 0.2 s of a 3.7 s cold build of 330 MB (0.1 s more for joining small
reads); trimming every 128 MiB instead let the split peak reach 96 MB. Other C libraries:
nothing to do.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

TRIM_EVERY = 32 << 20

_lock = threading.Lock()
_since = 0
_libc: Any = None  # ctypes' handle, loaded at the first trim: short commands never import it


def few_arenas() -> None:
    """At most two malloc arenas, shared by all the threads; call before the first starts."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX


def handed_over(size: int) -> None:
    """Count bytes passed between threads; every TRIM_EVERY, give the heap's free pages back
    (malloc_trim releases whole free pages anywhere in every arena, not only at the top)."""
    global _since, _libc
    with _lock:
        _since += size
        if _since < TRIM_EVERY:
            return
        _since = 0
        if _libc is None:
            import ctypes

            try:
                _libc = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):  # not glibc
                _libc = False
        if _libc:
            _libc(0)
