"""cluster.toml for the tests: one writer of its tables, the three-host ensemble many tests use
(written in a test's own names and addresses too), and a writer that loads and normalises an
inventory with the release facts of the recipes, as `bundler build` does; cluster.json's hosts
as the target's cluster.py finds this host among them."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from bundler.recipes.inventory import Inventory, KnownKeys, load, normalise
from bundler.recipes.recipes import Recipe

Table = Mapping[str, object]


def _pairs(table: Table) -> str:
    """`key = value` lines; JSON's strings, numbers, booleans and arrays are TOML's too."""
    assert not any(isinstance(v, Mapping) for v in table.values()), table
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items())


def host_tables(hosts: Sequence[Table]) -> str:
    """One [[host]] table per host, its keys in the order given, a blank line between."""
    return "\n".join("[[host]]\n" + _pairs(host) for host in hosts)


def cluster_toml(hosts: str, **cluster: object) -> str:
    """A cluster.toml: the [cluster] table with these keys, a blank line, then `hosts`
    (host_tables(), or text that may begin with more [cluster] keys)."""
    return "[cluster]\n" + _pairs(cluster) + "\n" + hosts


# The ensemble: three ZooKeeper members; Nimbus and the UI on the first, supervisors on the
# other two.
ENSEMBLE_ROLES = (
    ["zookeeper", "nimbus", "ui"],
    ["zookeeper", "supervisor"],
    ["zookeeper", "supervisor"],
)


def ensemble(
    names: Sequence[str], addresses: Sequence[str], extra: Mapping[str, Table] | None = None
) -> list[dict[str, object]]:
    """The ensemble's three hosts under these names and addresses; `extra` adds keys to a host
    (by name), or replaces its roles."""
    hosts = zip(names, addresses, ENSEMBLE_ROLES, strict=True)
    return [
        {"name": name, "address": address, "roles": roles, **(extra or {}).get(name, {})}
        for name, address, roles in hosts
    ]


THREE_HOSTS = host_tables(ensemble(["zk1", "zk2", "zk3"], ["10.0.0.1", "10.0.0.2", "10.0.0.3"]))

# The hosts of a cluster.json, as cluster.identify and cluster.find take them.
CLUSTER_JSON_HOSTS = {
    "hosts": [
        {"name": "storm1.example.com", "address": "10.1.0.1"},
        {"name": "storm2", "address": "10.1.0.2"},
        {"name": "storm3", "address": "10.1.0.3"},
    ]
}


def check(
    tmp_path: Path,
    body: str,
    storm: str = "2.6.4",
    zk: str = "3.8.4",
    known: KnownKeys | None = None,
) -> Inventory:
    """tmp_path/cluster.toml: a [cluster] naming storm and zk, then body (dedented); loaded and
    normalised with those releases' facts (and their known config keys, when given)."""
    path = tmp_path / "cluster.toml"
    path.write_text(cluster_toml(textwrap.dedent(body), storm=storm, zookeeper=zk))
    storm_facts = Recipe.load("storm").resolve(storm).facts
    zk_facts = Recipe.load("zookeeper").resolve(zk).facts
    return normalise(load(path), storm_facts, zk_facts, known)
