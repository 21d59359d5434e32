"""The cluster inventory carried in the bundle as cluster.json and shown per host by `bundler
render`, and found again on the host by the target's cluster.py: an address this machine cannot
bind, its own addresses from `ip` or the fib trie, and the old target Pythons (the format and
finding a host by name: tests/unit/test_inventory.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import textwrap
from pathlib import Path

import pytest

from bundler.onhost.contract import cluster
from tests.support.bundles import build_bundle, public_dir, pyenv_python, unpack
from tests.support.cli import bundler_proc as bundler
from tests.support.inventories import CLUSTER_JSON_HOSTS as HOSTS
from tests.support.inventories import THREE_HOSTS as THREE
from tests.support.inventories import cluster_toml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"

# --- finding this host (the target's cluster.py) ---


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
    bad.write_text(cluster_toml(THREE.replace('"nimbus", ', ""), storm="2.6.4", zookeeper="3.8.4"))
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
