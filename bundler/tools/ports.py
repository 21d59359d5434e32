"""`bundler ports`: every port each host of an inventory listens on, who must reach it, and the
firewall rules for it, from the values the renderer writes (the installer's own ports.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bundler.errors import UsageError
from bundler.onhost.operate import firewall
from bundler.onhost.plan import ports
from bundler.tools.render import HostFacts, host_values, load_cluster


def host_ports(
    cluster_path: Path,
    host: str | None = None,
    storm_version: str | None = None,
    zk_version: str | None = None,
) -> list[dict[str, Any]]:
    """[{name, address, roles, ports}] for every host of the inventory, or the one named."""
    storm, zookeeper, inventory = load_cluster(cluster_path, storm_version, zk_version)
    entries = [inventory.host(host)] if host is not None else inventory.data["hosts"]
    hosts = inventory.data["hosts"]
    found = []
    for entry in entries:
        # Ports do not depend on the host's Java, memory or Pythons: the defaults do.
        values = host_values(inventory.data, entry, storm.facts, HostFacts())
        table = ports.host_table(values, storm.facts, zookeeper.facts, hosts, entry["name"])
        found.append({k: entry[k] for k in ("name", "address", "roles")} | {"ports": table})
    return found


def check_format(kind: str) -> None:
    if kind not in firewall.FORMATS:
        raise UsageError(
            f"--format {kind}: expected one of {', '.join(firewall.FORMATS)}; pick one of them"
        )


def text(hosts: list[dict[str, Any]], kind: str) -> str:
    return firewall.render(hosts, kind)
