"""The unit tier's guard: while it is on, starting a process or reaching the network raises
Refused, and every refusal is remembered, so that a test whose code caught the error still
fails (tests/unit/conftest.py). Refused are the points every way in goes through: Popen's
_execute_child (run, check_output, os.popen, asyncio), fork_exec (multiprocessing's spawn),
os.fork and os.forkpty
(os.spawn*, pty), os.execv and os.execve (every os.exec*), os.posix_spawn*, os.system, and a
socket's connect, bind and sendto, and name look-ups. socket.socketpair is left alone: it is a
pair of connected sockets inside this process (asyncio's event loop wakes itself with one)."""

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


class Refused(RuntimeError):
    """What the unit tier does not do: start a process or use the network."""


class Guard:
    def __init__(self) -> None:
        self.refused: list[str] = []

    def refuse(self, what: str, args: tuple[Any, ...]) -> None:
        shown = ", ".join(repr(a) for a in args)[:200]
        message = f"a unit test {what}: {shown} (tests/README.md: move it to tests/integration)"
        self.refused.append(message)
        raise Refused(message)

    def verdict(self) -> str | None:
        """Why the test fails though its code may have caught the refusal, or None."""
        return "\n".join(self.refused) or None


def _stand_in(guard: Guard, name: str, what: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> None:
        guard.refuse(f"{what} ({name})", args)

    return refused


@contextmanager
def guarded() -> Iterator[Guard]:
    """Refuse processes and network until the block ends; the guard keeps each refusal."""
    guard = Guard()
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in PROCESS + NETWORK]
    try:
        for owner, name, what in PROCESS + NETWORK:
            setattr(owner, name, _stand_in(guard, name, what))
        yield guard
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
