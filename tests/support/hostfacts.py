"""Recorded host facts and bundles for plan tests: what facts.HostFacts would answer on a host,
written down, so that plan.make_plan runs with no root, network, processes or files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bundler.onhost.contract import cluster, extras
from bundler.onhost.plan import model, plan
from tests.support.configfiles import component

if TYPE_CHECKING:
    from bundler.onhost.bundle.bundle import Bundle
    from bundler.onhost.flags import Args
    from bundler.onhost.host.facts import HostFacts

ROOT = Path(__file__).resolve().parents[2]


def _component(project: str, version: str) -> dict[str, Any]:
    top = f"apache-storm-{version}" if project == "storm" else f"apache-zookeeper-{version}-bin"
    return dict(component(project, version), top=top, artifact=f"artifacts/{top}.tar.gz")


class RecordedBundle:
    """The parts of bundle.Bundle that the plan reads, from the recipes (as a build writes
    them) and, for a bundle built with --cluster, an inventory file."""

    def __init__(self, storm: str, zookeeper: str, inventory: Path | None = None) -> None:
        self.root = "/bundle"
        self.name = f"storm-{storm}-zk-{zookeeper}"
        self.storm = _component("storm", storm)
        self.zookeeper = _component("zookeeper", zookeeper)
        self.components = {"storm": self.storm, "zookeeper": self.zookeeper}
        self.pythons = {
            v: {"lock": f"python/locks/py{v}.txt", "wheels": ["python/wheels/supervisor.whl"]}
            for v in ("2.7", "3.6", "3.11", "3.13")
        }
        self.manifest: dict[str, Any] = {
            "schema": 1,
            "name": self.name,
            "components": {
                "storm": self.storm,
                "zookeeper": self.zookeeper,
                "supervisor": {"version": "4.2.5", "pythons": self.pythons},
            },
        }
        # onhost/known-keys.json as the build writes it for these two releases.
        from bundler.recipes.configkeys import known_keys_file

        self.known_keys = extras.parse_known(json.loads(known_keys_file(storm, zookeeper)))
        self.cluster = None
        if inventory is not None:
            from bundler.recipes.inventory import load, normalise

            self.cluster = normalise(
                load(inventory), self.storm["facts"], self.zookeeper["facts"]
            ).data

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def python_entry(self, version: tuple[int, ...]) -> dict[str, Any] | None:
        return self.pythons.get(f"{version[0]}.{version[1]}")


@dataclass
class RecordedFacts:
    """A host as facts.HostFacts sees it. Defaults: root on a host with Java 17, Python 3.11
    and 2.7, nothing listening, nothing installed, hostname `node1`, addresses 127.0.0.1."""

    root: bool = True
    user: str = "root"
    env: dict[str, str] = field(default_factory=lambda: {"PATH": "/usr/bin:/bin"})
    python: str = "/usr/bin/python3"
    python_version: str = "3.11.2"
    version_info: tuple[int, ...] = (3, 11, 2)
    hostname: str = "node1"
    addresses: set[str] = field(default_factory=lambda: {"127.0.0.1"})
    fqdn_name: str = "node1.example.com"
    # Java 11: every era the tests plan runs on it (1.2.4 needs 8 to 13, 2.6.4 11 or later).
    java: tuple[str, int] | None = ("/usr/lib/jvm/java-11", 11)
    pythons: dict[str, tuple[str, tuple[int, ...]]] = field(
        default_factory=lambda: {
            "/usr/bin/python3": ("/usr/bin/python3", (3, 11, 2)),
            "/usr/bin/python2": ("/usr/bin/python2.7", (2, 7, 18)),
        }
    )
    tools: set[str] = field(default_factory=lambda: {"useradd", "bash", "sh", "systemctl"})
    users: dict[str, tuple[int, list[int]]] = field(default_factory=lambda: {"root": (0, [0])})
    homes: set[str] = field(default_factory=lambda: {"/root", "/home/ada"})
    busy_ports: dict[int, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    members: dict[str, bytes] = field(
        default_factory=lambda: {"bin/zkServer.sh": b"#!/usr/bin/env bash\n"}
    )
    listings: dict[str, Any] = field(default_factory=dict)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    systemd: bool = False
    memory: int = 8192
    free: int = 100 << 30
    inodes: int = 1 << 20
    # (bytes, entries) under a folder, by path: ZooKeeper's data before an upgrade copies it.
    usages: dict[str, tuple[int, int]] = field(default_factory=dict)
    running_sockets: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)

    def identify(self, inventory: dict[str, Any]) -> tuple[dict[str, Any], str]:
        found = [
            (h, f"hostname {self.hostname}" if h["name"] == self.hostname else "address")
            for h in inventory["hosts"]
            if h["name"] == self.hostname or h["address"] in self.addresses
        ]
        if len(found) != 1:
            raise cluster.NoMatch(
                f"this host is none of the bundle's inventory hosts (hostname {self.hostname})"
            )
        return found[0]

    def is_local(self, host: str) -> bool:
        return host == "localhost" or host.startswith("127.") or host in self.addresses

    def fqdn(self) -> str:
        return self.fqdn_name

    def systemd_running(self) -> bool:
        return self.systemd

    def memory_mb(self) -> int:
        return self.memory

    def supervisord_running(self, socket_path: str) -> bool:
        return socket_path in self.running_sockets

    def port_problem(self, port: int) -> str | None:
        return self.busy_ports.get(port)

    def home_dirs(self) -> set[str]:
        return set(self.homes)

    def user_ids(self, user: str) -> tuple[int, list[int]] | None:
        return self.users.get(user)

    def reachable(self, path: str, ids: tuple[int, list[int]] | None) -> str | None:
        return None

    def mode(self, path: str) -> int:
        return 0o755

    def which(self, name: str, path: str | None = None) -> str | None:
        if name in self.pythons or "/" in name:
            return name if name in self.pythons else None
        return f"/usr/bin/{name}" if name in self.tools else None

    def exists(self, path: str) -> bool:
        return path in self.files

    def is_file(self, path: str) -> bool:
        return path in self.files

    def is_dir(self, path: str) -> bool:
        return False

    def size(self, path: str) -> int:
        return 1 << 20

    def sha256(self, path: str) -> str:
        return "0" * 64

    def read(self, path: str, limit: int = 1 << 20) -> bytes:
        if path not in self.files:
            raise OSError(2, "No such file or directory", path)
        return self.files[path][:limit]

    def member(self, tarball: str, name: str, limit: int) -> bytes | None:
        rel = name.split("/", 1)[1]
        return self.members.get(rel, None)

    def listing(self, path: str) -> Any:
        return self.listings.get(path)

    def nearest_existing(self, path: str) -> str:
        return "/"

    def writable(self, path: str) -> bool:
        return self.root

    def free_bytes(self, path: str) -> int:
        return self.free

    def free_inodes(self, path: str) -> int | None:
        return self.inodes

    def usage(self, path: str) -> tuple[int, int]:
        return self.usages.get(path, (0, 0))

    def state(self, prefix: str) -> dict[str, Any] | None:
        return self.states.get(prefix)

    def find_java(
        self, low: int | None, high: int | None, needs: str
    ) -> tuple[str | None, int | None, str | None]:
        if self.java is None:
            return None, None, "no Java: JAVA_HOME is not set and no java on PATH; fix: ..."
        home, major = self.java
        if (low and major < low) or (high and major > high):
            return None, None, f"{home} is Java {major}; {needs} need Java {low} to {high}"
        return home, major, None

    def python_info(self, python: str) -> tuple[str, tuple[int, ...]] | None:
        return self.pythons.get(python)

    def new_password(self) -> str:
        return "recorded-password"


def make_plan(args: Args, bundle: RecordedBundle, facts: RecordedFacts) -> model.Plan:
    """plan.make_plan with the recorded answers standing in for Bundle and HostFacts."""
    return plan.make_plan(args, cast("Bundle", bundle), cast("HostFacts", facts))
