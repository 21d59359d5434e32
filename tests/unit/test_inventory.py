"""The cluster inventory: cluster.toml checked and normalised (recipes/inventory.py), and found
again on the host by the target's cluster.py (by --host, host name or address). Carried in a
bundle, shown by `bundler render`, found by binding and on every target Python:
tests/integration/test_inventory.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bundler.errors import ExitCode, UsageError
from bundler.onhost.contract import cluster
from bundler.recipes.inventory import host_ports, load, normalise
from bundler.recipes.recipes import Recipe
from tests.support.inventories import CLUSTER_JSON_HOSTS as HOSTS
from tests.support.inventories import THREE_HOSTS as THREE
from tests.support.inventories import check

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


def facts(project: str, version: str) -> dict[str, Any]:
    return dict(Recipe.load(project).resolve(version).facts)


# --- the format ---


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_the_documented_examples_validate(example: Path) -> None:
    source = load(example)
    assert source.storm and source.zookeeper
    inventory = normalise(
        source, facts("storm", source.storm), facts("zookeeper", source.zookeeper)
    )
    assert inventory.warnings == []
    assert inventory.data["ensemble"] and inventory.data["nimbus"]
    # Every one of them is in the cluster how-to.
    assert example.name in (ROOT / "docs" / "howto" / "cluster.md").read_text()


def test_normalised_inventory_resolves_every_default(tmp_path: Path) -> None:
    inv = check(
        tmp_path,
        """\
        prefix = "/srv/storm/"  # a trailing slash is normalised away
        slots = [6700, 6701]
        zk_client_port = 2281

        [cluster.heaps]
        nimbus = 512

        [[host]]
        name = "a"
        address = "10.0.0.1"
        roles = ["ui", "nimbus", "zookeeper"]
        zk_id = 5

        [[host]]
        name = "b"
        address = "b.storm.internal"
        roles = ["zookeeper", "supervisor"]
        user = "stormy"
        heaps = { worker = 1024 }

        [[host]]
        name = "c"
        address = "10.0.0.3"
        roles = ["supervisor", "zookeeper"]
        slots = [6800]
        """,
    )
    data = inv.data
    assert data["schema"] == 1 and data["source"]["file"] == "cluster.toml"
    assert data["zookeeper_ports"] == {
        "client": 2281,
        "peer": 2888,
        "election": 3888,
        "admin": None,
    }
    # Given ids are kept; the others take the lowest free ones, in file order.
    assert data["ensemble"] == [
        {"id": 1, "name": "b", "address": "b.storm.internal"},
        {"id": 2, "name": "c", "address": "10.0.0.3"},
        {"id": 5, "name": "a", "address": "10.0.0.1"},
    ]
    assert data["nimbus"] == [{"name": "a", "address": "10.0.0.1"}]
    a, b, c = data["hosts"]
    assert a["roles"] == ["zookeeper", "nimbus", "ui"]
    assert (a["slots"], b["slots"], c["slots"]) == ([6700, 6701], [6700, 6701], [6800])
    assert (a["heaps"], b["heaps"]) == ({"nimbus": 512}, {"nimbus": 512, "worker": 1024})
    assert (a["prefix"], a["user"], b["user"]) == ("/srv/storm", None, "stormy")
    # As the installer reads it: configs.py's values for host b.
    part = cluster.settings(data, b)
    assert part["zk_servers"] == ["b.storm.internal", "10.0.0.3", "10.0.0.1"]
    assert (part["zk_ids"], part["zk_id"], part["nimbus_hosts"]) == ([1, 2, 5], 1, ["10.0.0.1"])
    json.dumps(data)


def test_release_facts_fill_the_slots_and_move_the_adminserver(tmp_path: Path) -> None:
    inv = check(tmp_path, THREE)
    zk1, zk2, _ = inv.data["hosts"]
    assert zk2["slots"] == facts("storm", "2.6.4")["slots_ports"]
    ports = dict(
        (what, port)
        for port, what in host_ports(
            zk1,
            facts("storm", "2.6.4"),
            facts("zookeeper", "3.8.4"),
            inv.data["zookeeper_ports"],
            3,
        )
    )
    # The Storm UI has 8080 on zk1: ZooKeeper's AdminServer moves to the recipe's 8081.
    assert ports["ZooKeeper AdminServer (zk_admin_port)"] == 8081
    assert ports["Storm UI (ui.port)"] == 8080


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            THREE.replace('"supervisor"]', '"supervisr"]', 1),
            "host zk2: roles: unknown role 'supervisr'",
        ),
        (THREE.replace('"zk2"', '"zk1"'), "host zk1: name zk1 is also host zk1's"),
        (THREE.replace("10.0.0.2", "10.0.0.1"), "host zk2: address 10.0.0.1 is also host zk1's"),
        (THREE.replace('"nimbus", ', ""), "no host has the nimbus role"),
        (THREE.replace('"zookeeper", ', ""), "no host has the zookeeper role"),
        (
            THREE.replace('name = "zk2"', 'name = "zk2"\nzk_id = 0'),
            "zk_id: expected a whole number from 1 to 255, found 0",
        ),
        (THREE.replace('name = "zk2"', 'name = "zk2"\nzk_id = 256'), "from 1 to 255, found 256"),
        (
            THREE.replace('name = "zk2"', 'name = "zk2"\nzk_id = 1').replace(
                'name = "zk1"', 'name = "zk1"\nzk_id = 1'
            ),
            "host zk2: zk_id 1 is also host zk1's",
        ),
        (
            THREE.replace('"zookeeper", "supervisor"]', '"supervisor"]\nzk_id = 2', 1),
            "zk_id is set but the host has no zookeeper role",
        ),
        (
            "zk_admin_port = 8080\n" + THREE,
            "host zk1: port 8080 is both ZooKeeper AdminServer (zk_admin_port) and Storm UI "
            "(ui.port)",
        ),
        (
            THREE.replace('"supervisor"]', '"supervisor"]\nslots = [2181, 6700]', 1),
            "host zk2: port 2181 is both ZooKeeper client port (zk_client_port) and worker "
            "slot (slots)",
        ),
        (
            "zk_peer_port = 2181\n" + THREE,
            "ZooKeeper's client, peer and election ports must differ",
        ),
        (
            THREE.replace("10.0.0.3", "127.0.0.1"),
            "host zk3: address 127.0.0.1 is this machine's loopback",
        ),
        (THREE.replace("10.0.0.3", "0.0.0.0"), "0.0.0.0 is not an address peers can reach"),
        (THREE.replace("roles", "role", 1), "[[host]] #1: unknown key 'role'"),
        ("colour = 'blue'\n" + THREE, "[cluster]: unknown key 'colour'"),
        ("prefix = 'opt/storm'\n" + THREE, "[cluster] prefix: expected a normalised absolute path"),
        ("name = 'My Cluster'\n" + THREE, "[cluster] name: expected lower-case letters"),
        ("slots = [6700, 6700]\n" + THREE, "[cluster] slots: lists a port twice"),
        ("[cluster.heaps]\nworkers = 512\n" + THREE, "[cluster.heaps]: unknown key 'workers'"),
        ("", "[[host]]: no hosts"),
        (
            THREE.replace('roles = ["zookeeper", "supervisor"]', "", 1),
            "host zk2: roles: expected a non-empty list",
        ),
        ("[[host]\n", "not valid TOML"),
    ],
)
def test_a_broken_inventory_is_one_line_naming_host_and_key(
    tmp_path: Path, body: str, says: str
) -> None:
    with pytest.raises(UsageError) as info:
        check(tmp_path, body)
    message = str(info.value)
    assert says in message, message
    assert "\n" not in message and message.startswith(str(tmp_path / "cluster.toml"))
    assert info.value.exit_code == ExitCode.USAGE


def test_a_single_nimbus_release_refuses_two(tmp_path: Path) -> None:
    body = THREE.replace('"zookeeper", "supervisor"]', '"zookeeper", "nimbus"]', 1)
    assert len(check(tmp_path, body).data["nimbus"]) == 2
    with pytest.raises(
        UsageError, match=r"2 hosts have the nimbus role \(zk1, zk2\).*nimbus\.host"
    ):
        check(tmp_path, body, storm="0.9.5", zk="3.4.6")


def test_zookeeper_34_has_no_adminserver_to_clash_with(tmp_path: Path) -> None:
    inv = check(tmp_path, "zk_admin_port = 8080\n" + THREE, storm="0.9.5", zk="3.4.6")
    assert "has no AdminServer; the setting is ignored" in inv.warnings[0]


@pytest.mark.parametrize("members", [2, 4])
def test_an_even_ensemble_is_a_warning(tmp_path: Path, members: int) -> None:
    hosts = "".join(
        f'[[host]]\nname = "h{i}"\naddress = "10.0.0.{i}"\nroles = ["zookeeper"'
        + (', "nimbus"' if i == 1 else "")
        + "]\n"
        for i in range(1, members + 1)
    )
    inv = check(tmp_path, hosts)
    (warning,) = inv.warnings
    assert f"the ZooKeeper ensemble has {members} members" in warning
    assert "use an odd number" in warning


# --- finding this host (the target's cluster.py) ---


@pytest.mark.parametrize(
    ("hostname", "addresses", "found"),
    [
        (
            "storm1.example.com",
            {"127.0.0.1"},
            ("storm1.example.com", "hostname storm1.example.com"),
        ),
        ("storm1", {"127.0.0.1"}, ("storm1.example.com", "hostname storm1")),
        ("storm2.example.com", {"127.0.0.1"}, ("storm2", "hostname storm2.example.com")),
        ("box", {"127.0.0.1", "10.1.0.3"}, ("storm3", "address 10.1.0.3")),
    ],
)
def test_identify_by_hostname_or_address(
    hostname: str, addresses: set[str], found: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Addresses are given; the bind test that confirms them is this machine's.
    monkeypatch.setattr(cluster, "can_bind", lambda address: True)
    entry, how = cluster.identify(HOSTS, hostname, addresses)
    assert (entry["name"], how) == found


def test_identify_no_match_or_several_lists_the_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "can_bind", lambda address: True)
    with pytest.raises(cluster.NoMatch) as none:
        cluster.identify(HOSTS, "box", {"127.0.0.1", "192.0.2.9"})
    assert str(none.value) == (
        "this host is none of the bundle's inventory hosts (hostname box, addresses "
        "127.0.0.1, 192.0.2.9 (from given)); candidates: storm1.example.com (10.1.0.1), "
        "storm2 (10.1.0.2), storm3 (10.1.0.3); pass --host NAME"
    )
    with pytest.raises(cluster.NoMatch) as several:
        cluster.identify(HOSTS, "storm2", {"10.1.0.3"})
    assert str(several.value) == (
        "this host matches several hosts of the bundle's inventory: storm2 by hostname storm2, "
        "storm3 by address 10.1.0.3; pass --host NAME"
    )
    with pytest.raises(cluster.NoMatch, match=r"^--host storm9 is not a host .* storm3 \("):
        cluster.find(HOSTS, "storm9")
