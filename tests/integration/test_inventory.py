"""The cluster inventory: cluster.toml checked and normalised (recipes/inventory.py), carried
in the bundle as cluster.json, shown per host by `bundler render`, and found again on the host
by the target's cluster.py (by --host, host name or address), on every target Python."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bundler.errors import ExitCode, UsageError
from bundler.onhost.contract import cluster
from bundler.recipes.inventory import host_ports, load, normalise
from bundler.recipes.recipes import Recipe
from tests.support.bundles import build_bundle, public_dir, pyenv_python, unpack
from tests.support.cli import bundler_proc as bundler
from tests.support.inventories import THREE_HOSTS as THREE
from tests.support.inventories import check

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"

HEAD = """\
[cluster]
storm = "{storm}"
zookeeper = "{zk}"
"""


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

HOSTS = {
    "hosts": [
        {"name": "storm1.example.com", "address": "10.1.0.1"},
        {"name": "storm2", "address": "10.1.0.2"},
        {"name": "storm3", "address": "10.1.0.3"},
    ]
}


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


def test_an_address_that_does_not_bind_is_not_this_host() -> None:
    # Listed (a stale list, a non-local bind sysctl) but not bindable here: no match.
    with pytest.raises(cluster.NoMatch):
        cluster.identify(HOSTS, "box", {"10.1.0.2"})


def test_addresses_from_ip_and_from_fib_trie() -> None:
    ip_out = (
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
        "2: eth0    inet 10.231.7.2/24 brd 10.231.7.255 scope global eth0\\       valid_lft\n"
        "2: eth0    inet6 fe80::1c2f:3aff:fe51:9e2/64 scope link \\       valid_lft forever\n"
    )
    assert cluster.parse_ip_addr(ip_out) == {"127.0.0.1", "10.231.7.2", "fe80::1c2f:3aff:fe51:9e2"}
    trie = """\
Main:
  +-- 0.0.0.0/0 3 0 5
     +-- 10.231.7.0/24 2 0 2
        +-- 10.231.7.0/30 2 0 2
           |-- 10.231.7.0
              /24 link UNICAST
           |-- 10.231.7.2
              /32 host LOCAL
        |-- 10.231.7.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
"""
    assert cluster.parse_fib_trie(trie) == {"10.231.7.2", "127.0.0.1"}
    # This machine's own, by one or the other.
    addresses, source = cluster.local_addresses()
    assert addresses and "127.0.0.1" in addresses, source


@pytest.mark.parametrize("version", ["2.7", "3.6"])
def test_cluster_py_on_old_target_pythons(version: str) -> None:
    code = textwrap.dedent(
        """\
        import sys
        from bundler.onhost.contract import cluster
        hosts = {"hosts": [{"name": "a", "address": "127.0.0.1"},
                           {"name": "b", "address": "10.9.9.9"}]}
        entry, how = cluster.identify(hosts, "box")
        sys.stdout.write("%s %s" % (entry["name"], how))
        """
    )
    python = pyenv_python(version)
    proc = subprocess.run(
        [str(python), "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout == "a address 127.0.0.1", proc


# --- bundler render and bundler build --cluster ---


def test_render_prints_the_files_a_host_gets_and_names_its_assumptions() -> None:
    run = bundler("render", "--cluster", EXAMPLES / "three-zookeepers.toml", "--host", "zk2")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.startswith(
        "# bundler render: host zk2 (10.0.0.12) of bundle storm-2.6.4-zk-3.8.4-prod\n"
    )
    for assumed in ("--java-home", "--java-major 17", "--memory-mb 8192", "--launcher-python"):
        assert assumed in out
    assert "==> etc/zookeeper/zoo.cfg (mode 0644) <==" in out
    assert "server.2=10.0.0.12:2888:3888;2181\n" in out
    assert "==> data/zookeeper/myid (mode 0644) <==\n2\n" in out
    assert "==> etc/storm/storm.yaml" not in out  # zk2 runs ZooKeeper only
    worker = bundler(
        "render", "--cluster", EXAMPLES / "three-zookeepers.toml", "--host", "worker3",
        "--memory-mb", "65536", "--java-major", "11",
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    assert "supervisor.slots.ports:\n  - 6700\n" in worker.stdout
    assert "  - 6707\n" in worker.stdout
    assert "# Heaps of nimbus, ui, worker from the cluster inventory" in worker.stdout
    assert 'worker.childopts: "-Xmx%HEAP-MEM%m -Xlog:gc*' in worker.stdout
    assert "worker.heap.memory.mb: 2048\n" in worker.stdout
    assert "/usr/lib/jvm/java-11-openjdk-amd64" in worker.stdout


def test_render_out_writes_the_files_with_their_modes(tmp_path: Path) -> None:
    book = EXAMPLES / "book-two-hosts.toml"
    run = bundler("render", "--cluster", book, "--host", "ip-172-31-36-23", "--out", tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "etc" / "supervisord.conf").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data" / "zookeeper" / "myid").read_text() == "1\n"
    yaml = (tmp_path / "etc" / "storm" / "storm.yaml").read_text()
    assert 'nimbus.host: "172.31.36.23"' in yaml
    assert str(tmp_path / "etc" / "storm" / "storm.yaml") in run.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--host", "nope"), "--host nope: no such host in the inventory; its hosts are zk1, zk2"),
        (("--host", "zk1", "--storm", "0.9.5"), "[cluster] storm = '2.6.4' but the bundle is for"),
    ],
)
def test_render_errors_are_one_line_exit_2(args: tuple[str, ...], says: str) -> None:
    run = bundler("render", "--cluster", EXAMPLES / "three-zookeepers.toml", *args)
    assert run.returncode == 2, run
    assert run.stderr.count("\n") == 1 and says in run.stderr, run.stderr


def test_build_checks_the_inventory_before_downloading(tmp_path: Path) -> None:
    bad = tmp_path / "cluster.toml"
    bad.write_text(HEAD.format(storm="2.6.4", zk="3.8.4") + THREE.replace('"nimbus", ', ""))
    # Port 9 (discard) on loopback: nothing is fetched, the inventory fails first.
    run = bundler(
        "build", "--cluster", bad, "--mirror", "http://127.0.0.1:9", "--no-default-mirrors",
        "--out", tmp_path, "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert run.returncode == 2, run
    assert run.stderr == (
        f"bundler: error: {bad}: [[host]]: no host has the nimbus role; a Storm cluster needs one\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.toml"]
    none = bundler("build", "--zk", "3.8.4")
    assert none.returncode == 2 and "--storm is required" in none.stderr, none


def test_build_carries_the_inventory_as_a_verified_file(mirror_dir: Path, wheelhouse: Path) -> None:
    book = EXAMPLES / "book-two-hosts.toml"
    bundle = build_bundle(mirror_dir, wheelhouse, "0.9.5", "3.4.6", cluster=book)
    assert bundle.name == "storm-0.9.5-zk-3.4.6-book.tar"
    top = "storm-0.9.5-zk-3.4.6-book"
    with tarfile.open(bundle) as tar:
        manifest = json.load(tar.extractfile(f"{top}/bundle.json"))  # type: ignore[arg-type]
        sums = tar.extractfile(f"{top}/SHA256SUMS").read().decode()  # type: ignore[union-attr]
        data = json.load(tar.extractfile(f"{top}/cluster.json"))  # type: ignore[arg-type]
    assert manifest["cluster"] == {
        "file": "cluster.json",
        "name": "book",
        "hosts": ["ip-172-31-36-23", "ip-172-31-19-62"],
    }
    digest = manifest["files"]["cluster.json"]["sha256"]
    assert f"{digest}  cluster.json\n" in sums
    assert data["ensemble"] == [{"id": 1, "name": "ip-172-31-36-23", "address": "172.31.36.23"}]
    assert data["source"]["file"] == "book-two-hosts.toml"
    verified = bundler("verify", bundle)
    assert verified.returncode == 0, verified
    shown = bundler("inspect", bundle)
    assert "cluster book in cluster.json: hosts ip-172-31-36-23, ip-172-31-19-62" in shown.stdout
    # An edited inventory is a damaged bundle: install.sh stops before touching the host.
    where = public_dir("bundle")
    try:
        unpacked = unpack(bundle, where)
        (unpacked / "cluster.json").write_text(json.dumps({**data, "nimbus": []}))
        proc = subprocess.run(
            ["dash", str(unpacked / "install.sh"), "--check"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 3, proc
        assert "cluster.json: FAILED" in proc.stderr
    finally:
        shutil.rmtree(where, ignore_errors=True)
