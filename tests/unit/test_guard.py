"""The unit tier's guard (tests/unit/conftest.py): inside a unit test every way to start a
process or reach the network is refused before anything starts, and a test whose code swallowed
the refusal fails all the same."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.guard import Guard, Refused

pytest_plugins = ["pytester"]


def _connect() -> None:
    with socket.socket() as sock:
        sock.connect(("127.0.0.1", 9))


def _bind() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))


def _udp() -> None:
    with socket.socket(type=socket.SOCK_DGRAM) as sock:
        sock.sendto(b"x", ("127.0.0.1", 9))


def _unix() -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect("/run/supervisor.sock")


async def _exec() -> None:
    await asyncio.create_subprocess_exec("true")


# Each way looks its function up when called: the guard replaces them after this is made.
WAYS: dict[str, Callable[[], Any]] = {
    "Popen": lambda: subprocess.Popen(["true"]),
    "run": lambda: subprocess.run(["true"], check=False),
    "check_output": lambda: subprocess.check_output("true", shell=True),
    "os.popen": lambda: os.popen("true"),
    "os.system": lambda: os.system("true"),
    "os.fork": lambda: os.fork(),
    "os.execv": lambda: os.execv("/bin/true", ["true"]),
    "os.execlp": lambda: os.execlp("true", "true"),
    "os.spawnv": lambda: os.spawnv(os.P_WAIT, "/bin/true", ["true"]),
    "os.posix_spawn": lambda: os.posix_spawn("/bin/true", ["true"], {}),
    "asyncio": lambda: asyncio.run(_exec()),
    "multiprocessing": lambda: multiprocessing.get_context("spawn").Process().start(),
    "connect": _connect,
    "bind": _bind,
    "udp": _udp,
    "unix-socket": _unix,
    "name-lookup": lambda: socket.getaddrinfo("example.org", 443),
    "create_connection": lambda: socket.create_connection(("127.0.0.1", 9), timeout=1),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_a_process_or_the_network_is_refused(way: str, tier_guard: Guard) -> None:
    with pytest.raises(Refused, match=r"a unit test .* move it to tests/integration"):
        WAYS[way]()
    assert tier_guard.refused
    tier_guard.refused.clear()  # refused as it should be: this test passes


def test_a_socketpair_inside_the_process_is_allowed() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"


SWALLOWED = """
import subprocess

import pytest


@pytest.fixture(scope="session")
def built():
    try:
        subprocess.run(["true"], check=True)
    except Exception:
        pass


def test_swallows_the_refusal():
    try:
        subprocess.run(["true"], check=True)
    except Exception:
        pass


def test_uses_a_session_fixture_that_swallowed_it(built):
    pass


def test_pure():
    assert sum([1, 2]) == 3
"""


def test_a_test_that_swallowed_the_refusal_fails(pytester: pytest.Pytester) -> None:
    """A unit test, or a fixture of a wider scope it is the first to use, whose code catches
    every error still fails, saying what it started."""
    pytester.makeconftest("from tests.unit.conftest import *")
    pytester.makepyfile(test_inner=SWALLOWED)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(["*a unit test starts a process (_execute_child)*"])
