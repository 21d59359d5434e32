"""Several "hosts" on one machine for the cluster tests: network namespaces, each with its own
address, joined by veth pairs to a bridge inside a "switch" namespace. No address is put on the
root namespace and there is no route out, so nothing leaves the namespaces.

Every namespace shares the filesystem and the process table with the others: each host gets
its own install prefix and service user. Processes are found through the namespace they run in
and ended by pid; namespaces, users and prefixes are removed in close().
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from tests.support.bundles import SYSTEM_PATH, Result, public_dir, remove_user, supervisor_proxy

T = TypeVar("T")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@dataclass
class Host:
    """One machine of the cluster: a network namespace, its address, prefix and service user."""

    name: str
    address: str
    netns: str
    prefix: Path
    user: str
    results: list[Result] = field(default_factory=list)

    def exec_cmd(self, *cmd: str, hostname: str | None = None) -> list[str]:
        """cmd inside this host's namespace; with a UTS namespace of its own when hostname is
        given, so that what starts there sees that host name."""
        prefix = ["ip", "netns", "exec", self.netns]
        if hostname is not None:
            prefix += ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname]
        return [*prefix, *cmd]

    def run(self, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.exec_cmd(*cmd), capture_output=True, text=True, timeout=timeout, check=False
        )

    def install_cmd(self, bundle: Path, *args: str, hostname: str | None = None) -> list[str]:
        env = ["env", "-i", f"PATH={SYSTEM_PATH}", "HOME=/root", "LANG=C.UTF-8"]
        return self.exec_cmd(*env, "dash", str(bundle / "install.sh"), *args, hostname=hostname)

    def install(
        self, bundle: Path, *args: str, hostname: str | None = None, timeout: float = 600
    ) -> Result:
        proc = subprocess.run(
            self.install_cmd(bundle, *args, hostname=hostname),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.results.append(Result(proc.returncode, proc.stdout, proc.stderr))
        return self.results[-1]

    def python(self, code: str) -> str:
        proc = self.run("/usr/bin/python3", "-c", code)
        return proc.stdout if proc.returncode == 0 else ""

    def four_letter(self, word: str, address: str | None = None, port: int = 2181) -> str:
        """A ZooKeeper four-letter word, asked from inside this host ('' when nothing answers)."""
        target = address or self.address
        return self.python(
            "import socket,sys\n"
            "try:\n"
            f" s=socket.create_connection(({target!r},{port}),3);s.sendall({word.encode()!r})\n"
            " d=b''\n"
            " while True:\n"
            "  c=s.recv(4096)\n"
            "  if not c: break\n"
            "  d+=c\n"
            " sys.stdout.write(d.decode())\n"
            "except OSError: pass\n"
        )

    def zk_mode(self, address: str | None = None) -> str | None:
        for line in self.four_letter("srvr", address).splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    def get_json(self, url: str) -> Any:
        """GET url from inside this host, as JSON (None when it does not answer)."""
        out = self.python(
            "import json,sys,urllib.request\n"
            "try:\n"
            f" r=urllib.request.urlopen({url!r},timeout=5)\n"
            " sys.stdout.write(r.read().decode())\n"
            "except Exception: pass\n"
        )
        return json.loads(out) if out.strip() else None

    def rpc(self) -> xmlrpc.client.ServerProxy:
        return supervisor_proxy(self.prefix / "run" / "supervisord.sock")

    def program(self, name: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.rpc().supervisor.getProcessInfo(name))

    def pids(self) -> list[int]:
        proc = subprocess.run(
            ["ip", "netns", "pids", self.netns], capture_output=True, text=True, check=False
        )
        return [int(p) for p in proc.stdout.split()]


class Network:
    """A switch namespace with a bridge, and hosts plugged into it."""

    def __init__(self, tag: str, subnet: str) -> None:
        # Unique per test run: other sessions on this machine may run these tests too.
        self.tag = f"{tag}{os.getpid() % 100000}"
        self.subnet = subnet  # e.g. "10.231.7": hosts get .1, .2, ...
        self.switch = f"{self.tag}-sw"
        self.hosts: list[Host] = []
        self.root = public_dir(self.tag)
        self.netns: list[str] = []
        try:
            self._netns_add(self.switch)
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    def _netns_add(self, name: str) -> None:
        self.netns.append(name)
        _ip("netns", "add", name)

    def add(self, name: str, user: str) -> Host:
        index = len(self.hosts) + 1
        netns = f"{self.tag}-{name}"
        host = Host(
            name=name,
            address=f"{self.subnet}.{index}",
            netns=netns,
            prefix=self.root / name / "storm",
            user=user,
        )
        self.hosts.append(host)
        self._netns_add(netns)
        port = f"p{index}"
        _ip("link", "add", "eth0", "netns", netns, "type", "veth", "peer", "name", port,
            "netns", self.switch)  # fmt: skip
        _ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        _ip("-n", netns, "addr", "add", f"{host.address}/24", "dev", "eth0")
        _ip("-n", netns, "link", "set", "eth0", "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        (self.root / name).mkdir(mode=0o755)
        return host

    def close(self) -> None:
        """End every process of every host (by pid), then remove namespaces, users, files."""
        for host in self.hosts:
            for _ in range(20):
                pids = [p for p in host.pids() if p != os.getpid()]
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.2)
        for netns in reversed(self.netns):
            subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
        for host in self.hosts:
            remove_user(host.user)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """check()'s first true result within timeout seconds; fails the test naming `what`."""
    deadline = time.time() + timeout
    last: T | None = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")
