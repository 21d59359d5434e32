"""cluster.toml for the tests: the three-host ensemble several tests use, and a writer that loads
and normalises an inventory with the release facts of the recipes, as `bundler build` does;
cluster.json's hosts as the target's cluster.py finds this host among them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from bundler.recipes.inventory import Inventory, KnownKeys, load, normalise
from bundler.recipes.recipes import Recipe

# Three ZooKeeper members; Nimbus and the UI on the first, supervisors on the other two.
THREE_HOSTS = """\
[[host]]
name = "zk1"
address = "10.0.0.1"
roles = ["zookeeper", "nimbus", "ui"]

[[host]]
name = "zk2"
address = "10.0.0.2"
roles = ["zookeeper", "supervisor"]

[[host]]
name = "zk3"
address = "10.0.0.3"
roles = ["zookeeper", "supervisor"]
"""

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
    head = f'[cluster]\nstorm = "{storm}"\nzookeeper = "{zk}"\n'
    path.write_text(head + textwrap.dedent(body))
    storm_facts = Recipe.load("storm").resolve(storm).facts
    zk_facts = Recipe.load("zookeeper").resolve(zk).facts
    return normalise(load(path), storm_facts, zk_facts, known)
