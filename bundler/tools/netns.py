"""Hosts made of network namespaces on one Linux machine (root only), for `bundler rehearse`.

Each host is a network namespace with `lo` up and, when it has an address, a veth pair into a
bridge inside a "switch" namespace. No address is put on the machine's own namespace and there
is no route out: a host reaches its peers on the bridge and nothing else. Namespaces share the
filesystem and the process table; whatever runs in a namespace is found through it
(`ip netns pids`) and ended by pid in close(), before the namespaces are removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bundler.errors import BundlerError


class NetnsError(BundlerError):
    """An `ip` command failed while building the namespaces."""


def ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {proc.stderr.strip() or 'failed'}")


def namespaces() -> list[str]:
    """The names `ip netns list` shows."""
    proc = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def pids_in(netns: str) -> list[int]:
    proc = subprocess.run(
        ["ip", "netns", "pids", netns], capture_output=True, text=True, check=False
    )
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


# Where `ip netns exec NS` finds files to show in place of the machine's /etc ones.
NETNS_ETC = Path("/etc/netns")


@dataclass
class Node:
    """One host: its name, its namespace, its address on the bridge (None: only `lo`)."""

    name: str
    netns: str
    address: str | None

    def command(self, *cmd: str, hostname: str | None = None) -> list[str]:
        """cmd inside this host's namespace; with a host name of its own (a UTS namespace)
        when hostname is given."""
        prefix = ["ip", "netns", "exec", self.netns]
        if hostname is not None:
            prefix += ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname]
        return [*prefix, *cmd]


class Network:
    """Namespaces named `<tag>-...`; close() ends their processes and removes them."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.switch: str | None = None
        self.nodes: list[Node] = []
        self.created: list[str] = []

    def _add_netns(self, name: str) -> None:
        ip("netns", "add", name)
        self.created.append(name)
        ip("-n", name, "link", "set", "lo", "up")

    def _bridge(self) -> str:
        if self.switch is None:
            name = f"{self.tag}-sw"
            self._add_netns(name)
            self.switch = name
            ip("-n", name, "link", "add", "br0", "type", "bridge")
            ip("-n", name, "link", "set", "br0", "up")
        return self.switch

    def add(self, name: str, address: str | None) -> Node:
        """A host; with an address, plugged into the bridge with that address (a /32, with a
        route to each peer added by connect())."""
        node = Node(name, f"{self.tag}-{len(self.nodes) + 1}", address)
        self._add_netns(node.netns)
        self.nodes.append(node)
        if address is not None:
            switch = self._bridge()
            port = f"p{len(self.nodes)}"
            ip("link", "add", "eth0", "netns", node.netns, "type", "veth",
               "peer", "name", port, "netns", switch)  # fmt: skip
            ip("-n", switch, "link", "set", port, "master", "br0", "up")
            ip("-n", node.netns, "addr", "add", f"{address}/32", "dev", "eth0")
            ip("-n", node.netns, "link", "set", "eth0", "up")
        return node

    def connect(self) -> None:
        """A route from every addressed host to every other one, over the bridge only."""
        addressed = [n for n in self.nodes if n.address is not None]
        for node in addressed:
            for peer in addressed:
                if peer is not node:
                    ip("-n", node.netns, "route", "add", f"{peer.address}/32", "dev", "eth0")

    def name_hosts(self, aliases: dict[str, list[str]] | None = None) -> None:
        """Every addressed host by its name (and aliases: address -> more names) in each
        namespace's /etc/hosts, as a site's DNS would answer: `ip netns exec` shows
        /etc/netns/NS/hosts there in place of the machine's own. Java daemons (Storm's Nimbus)
        look their own host name up when they start."""
        # The machine's own entries first (its host name among them: a namespace without a
        # UTS namespace of its own keeps it).
        lines = Path("/etc/hosts").read_text().splitlines()
        for node in self.nodes:
            if node.address is not None:
                names = [node.name, *(aliases or {}).get(node.address, [])]
                lines.append(f"{node.address}\t{' '.join(dict.fromkeys(names))}")
        for node in self.nodes:
            # A host with only `lo` is known to itself by its name on loopback.
            own = [] if node.address is not None else [f"127.0.0.1\t{node.name}"]
            folder = NETNS_ETC / node.netns
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "hosts").write_text("\n".join(lines + own) + "\n")

    def kill_all(self) -> None:
        """End every process in the namespaces, by pid, until none is left."""
        for netns in self.created:
            for _ in range(50):
                pids = [p for p in pids_in(netns) if p != os.getpid()]
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.1)

    def close(self) -> None:
        self.kill_all()
        for netns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
            shutil.rmtree(NETNS_ETC / netns, ignore_errors=True)
        self.created = []
