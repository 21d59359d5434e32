"""Several "hosts" on one machine for the cluster and Ansible tests, built on tools/netns.py (the
namespaces `bundler rehearse` uses): each host is a network namespace with its own address on a
bridge inside a "switch" namespace, with a route to every other host and none out. No address
is put on the root namespace, so nothing leaves the namespaces.

Every namespace shares the filesystem and the process table with the others: each host gets
its own install prefix and service user. Processes are found through the namespace they run in
and ended by pid; namespaces, users and prefixes are removed in close().
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from bundler.tools import netns
from tests.support import zkprobe
from tests.support.bundles import SYSTEM_PATH, Result, public_dir, remove_user, supervisor_proxy
from tests.support.inventories import ENSEMBLE_ROLES, cluster_toml, host_tables

T = TypeVar("T")
UI_PORT = 8080


@dataclass
class Host:
    """One machine of the cluster: a namespace with an address, its prefix and service user."""

    node: netns.Node
    prefix: Path
    user: str
    results: list[Result] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def address(self) -> str:
        assert self.node.address is not None
        return self.node.address

    @property
    def netns(self) -> str:
        return self.node.netns

    def exec_cmd(self, *cmd: str, hostname: str | None = None) -> list[str]:
        """cmd inside this host's namespace; with a UTS namespace of its own when hostname is
        given, so that what starts there sees that host name."""
        return self.node.command(*cmd, hostname=hostname)

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

    def zk_mode(self, address: str | None = None) -> str | None:
        """A member's `srvr` Mode, asked from inside this host (None: not serving)."""
        return zkprobe.zk_mode(self.exec_cmd(), address or self.address)

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
        return netns.pids_in(self.netns)


class Network:
    """Hosts on one bridge (a tools.netns.Network), each with a prefix and a service user."""

    def __init__(self, tag: str, subnet: str) -> None:
        # Unique per test run: other sessions on this machine may run these tests too.
        self.tag = f"{tag}{os.getpid() % 100000}"
        self.subnet = subnet  # e.g. "10.231.7": hosts get .1, .2, ...
        self.hosts: list[Host] = []
        self.aliases: dict[str, list[str]] = {}
        self.net = netns.Network(self.tag)
        self.root = public_dir(self.tag)

    def add(self, name: str, user: str) -> Host:
        address = f"{self.subnet}.{len(self.hosts) + 1}"
        host = Host(node=self.net.add(name, address), prefix=self.root / name / "storm", user=user)
        # A /32 route each way between the new host and every earlier one (what
        # bundler.tools.netns.Network.connect() does for all hosts at once).
        for other in self.hosts:
            netns.ip("-n", host.netns, "route", "add", f"{other.address}/32", "dev", "eth0")
            netns.ip("-n", other.netns, "route", "add", f"{address}/32", "dev", "eth0")
        self.hosts.append(host)
        self.net.name_hosts(self.aliases)
        (self.root / name).mkdir(mode=0o755)
        return host

    def alias(self, host: Host, name: str) -> None:
        """Another name host is known by in every namespace's /etc/hosts."""
        self.aliases.setdefault(host.address, []).append(name)
        self.net.name_hosts(self.aliases)

    def close(self) -> None:
        """End every process of every host (by pid), then remove namespaces, users, files."""
        self.net.close()
        for host in self.hosts:
            remove_user(host.user)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def inventory(
    net: Network,
    name: str,
    storm: str,
    zk: str,
    roles: dict[str, list[str]] | None = None,
    extra: dict[str, dict[str, object]] | None = None,
    path: Path | None = None,
) -> Path:
    """cluster.toml for the network's hosts that have roles (by default the ensemble on its
    first three hosts), each with its own prefix and service user, plus a host's extra keys;
    written in the network's folder, or at `path`."""
    if roles is None:
        names = [host.name for host in net.hosts[: len(ENSEMBLE_ROLES)]]
        roles = dict(zip(names, ENSEMBLE_ROLES, strict=True))
    hosts = [
        {
            "name": host.name,
            "address": host.address,
            "roles": roles[host.name],
            "prefix": str(host.prefix),
            "user": host.user,
            **(extra or {}).get(host.name, {}),
        }
        for host in net.hosts
        if host.name in roles
    ]
    path = path or net.root / "cluster.toml"
    path.write_text(cluster_toml(host_tables(hosts), name=name, storm=storm, zookeeper=zk))
    return path


def summary(host: Host, ui: Host, what: str = "cluster") -> Any:
    """The Storm UI's /api/v1/<what>/summary on `ui`, asked from `host`."""
    return host.get_json(f"http://{ui.address}:{UI_PORT}/api/v1/{what}/summary")


def supervisors_seen(host: Host, ui: Host, count: int) -> list[dict[str, Any]] | None:
    """The UI's supervisors, asked from `host`, once it reports `count` of them."""
    data = summary(host, ui)
    if not data or data.get("supervisors") != count:
        return None
    listed = summary(host, ui, "supervisor")
    return cast(list[dict[str, Any]], listed["supervisors"]) if listed else None


def storm_cluster(host: Host, count: int) -> dict[str, Any] | None:
    """What Nimbus tells `stormctl status --json` on `host` of the cluster (its storm_cluster
    entry), once Nimbus answers and lists `count` supervisors."""
    proc = host.run(str(host.prefix / "bin" / "stormctl"), "status", "--json")
    try:
        cluster = json.loads(proc.stdout).get("storm_cluster")
    except ValueError:
        return None
    if not cluster or not cluster.get("asked") or len(cluster["supervisors"]) != count:
        return None
    return cast(dict[str, Any], cluster)


def smoke(host: Host, hosts: list[Host]) -> str:
    """`stormctl smoke` run on host: its output once it passed; else the test fails with that
    output and the tail of every Storm log of `hosts` (where a worker says why)."""
    proc = host.run(str(host.prefix / "bin" / "stormctl"), "smoke", timeout=400)
    if proc.returncode != 0:
        logs = [log for h in hosts for log in (h.prefix / "logs" / "storm").rglob("*.log")]
        tails = [f"{log}:\n" + "\n".join(log.read_text().splitlines()[-15:]) for log in logs]
        raise AssertionError(f"smoke exited {proc.returncode}:\n{proc.stdout}\n" + "\n".join(tails))
    return proc.stdout


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
