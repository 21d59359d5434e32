"""The unit tier's guard: while it is on, starting a process or reaching the network raises
Refused, and every refusal is remembered, so that a test whose code caught the error still
fails (tests/unit/conftest.py). Refused are the points every way in goes through: Popen's
_execute_child (run, check_output, os.popen, asyncio), fork_exec (multiprocessing's spawn),
os.fork and os.forkpty (os.spawn*, pty), os.execv and os.execve (every os.exec*),
os.posix_spawn*, os.system, and a socket's connect, bind and sendto, and name look-ups.
socket.socketpair is left alone: it is a pair of connected sockets inside this process
(asyncio's event loop wakes itself with one).

A guard is turned on for blocks that may overlap without nesting (a test's setup, and a
fixture that lives from the setup to the teardown): the stand-ins are put in place when the
first block begins and the originals back when the last one ends; a refusal is kept by the
guard that began last."""

from __future__ import annotations

import _posixsubprocess
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# (object, attribute) -> what a call to it does, in the words of the refusal.
PROCESS = [
    (subprocess.Popen, "_execute_child", "starts a process"),
    (_posixsubprocess, "fork_exec", "starts a process"),
    (os, "fork", "forks"),
    (os, "forkpty", "forks"),
    (os, "execv", "replaces this process"),
    (os, "execve", "replaces this process"),
    (os, "posix_spawn", "starts a process"),
    (os, "posix_spawnp", "starts a process"),
    (os, "system", "starts a shell"),
]
NETWORK = [
    (socket.socket, "connect", "opens a connection"),
    (socket.socket, "connect_ex", "opens a connection"),
    (socket.socket, "bind", "binds a socket"),
    (socket.socket, "sendto", "sends a datagram"),
    (socket, "getaddrinfo", "looks a name up"),
    (socket, "gethostbyname", "looks a name up"),
    (socket, "gethostbyname_ex", "looks a name up"),
]

POINTS = PROCESS + NETWORK


class Refused(RuntimeError):
    """What the unit tier does not do: start a process or use the network."""


class Guard:
    """One unit test's refusals."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def refuse(self, what: str, args: tuple[Any, ...]) -> None:
        shown = ", ".join(repr(a) for a in args)[:200]
        message = f"a unit test {what}: {shown} (tests/README.md: move it to tests/integration)"
        self.refused.append(message)
        raise Refused(message)


# The guards whose blocks have begun and not ended, and the originals the stand-ins replaced.
_ON: list[Guard] = []
_ORIGINALS: list[tuple[object, str, object]] = []


def _stand_in(name: str, what: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> None:
        _ON[-1].refuse(f"{what} ({name})", args)

    return refused


@contextmanager
def guarded(guard: Guard | None = None) -> Iterator[Guard]:
    """Refuse processes and network until the block ends; the guard keeps each refusal."""
    guard = guard or Guard()
    if not _ON:
        _ORIGINALS[:] = [(owner, name, getattr(owner, name)) for owner, name, _ in POINTS]
        for owner, name, what in POINTS:
            setattr(owner, name, _stand_in(name, what))
    _ON.append(guard)
    try:
        yield guard
    finally:
        _ON.remove(guard)
        if not _ON:
            for owner, name, original in _ORIGINALS:
                setattr(owner, name, original)
