"""One bundle for a whole cluster, installed on several hosts made of network namespaces.

Each host is a network namespace with its own address on a bridge (tests/support/netns.py), its
host name (a UTS namespace), its own prefix and service user; install.sh runs inside it under
dash, finds its part in the bundle's inventory and waits for what it needs from the others.
The ZooKeeper servers are real (a three-member ensemble elects a leader). The three hosts run
Apache Storm 2.6.4's own Nimbus, supervisors and workers (the UI is the test mirror's stand-in,
which reports what it finds in ZooKeeper), and `stormctl smoke` runs a topology across them;
the book's two hosts run the stand-in of Storm 0.9.5.

Everything a test starts is ended by pid through its namespace, and namespaces, users and
prefixes are removed, also when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.bundles import Result, build_bundle, unpack
from tests.support.netns import (
    Host,
    Network,
    inventory,
    smoke,
    storm_cluster,
    summary,
    supervisors_seen,
    wait_until,
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("ip") is None
    or shutil.which("unshare") is None
    or shutil.which("dash") is None,
    reason="needs root, ip, unshare and dash (network namespaces, service users)",
)

ROOT = Path(__file__).resolve().parents[2]
UI_PORT = 8080


def user_name(tag: str) -> str:
    # Unique per run: tests of other sessions on this machine may run at the same time.
    return f"bc{os.getpid() % 100000}{tag}"


def modes(hosts: list[Host]) -> list[str | None]:
    return [h.zk_mode() for h in hosts]


# --- three hosts: a three-member ensemble, Nimbus and the UI on one, supervisors on two ---


@dataclass
class Trio:
    net: Network
    toml: Path
    bundle: Path
    results: dict[str, Result]
    seconds: float

    def host(self, name: str) -> Host:
        return next(h for h in self.net.hosts if h.name == name)


@pytest.fixture(scope="module")
def trio(mirror_dir: Path, wheelhouse: Path) -> Iterator[Trio]:
    with Network("bct", "10.231.7") as net:
        for name in ("h1", "h2", "h3"):
            net.add(name, user_name(name[-1]))
        toml = inventory(net, "trio", "2.6.4", "3.8.4", extra={"h3": {"slots": [6700, 6701]}})
        bundle = unpack(build_bundle(mirror_dir, wheelhouse, cluster=toml), net.root / "bundle")
        h1, h2, h3 = net.hosts
        net.alias(h2, "worker-b")
        net.alias(h3, "worker-c")
        # In parallel: a ZooKeeper member waits for a quorum, which takes two hosts.
        runs = {
            # Finds itself by host name, by address, and by --host.
            "h1": lambda: h1.install(bundle, hostname="h1"),
            "h2": lambda: h2.install(bundle, hostname="worker-b"),
            "h3": lambda: h3.install(bundle, "--host", "h3", hostname="worker-c"),
        }
        start = time.time()
        with ThreadPoolExecutor(len(runs)) as pool:
            futures = {name: pool.submit(run) for name, run in runs.items()}
            results = {name: f.result() for name, f in futures.items()}
        yield Trio(net, toml, bundle, results, time.time() - start)


def test_three_hosts_form_a_cluster_the_ui_sees_whole(trio: Trio) -> None:
    for name, result in trio.results.items():
        assert result.code == 0, f"{name}: {result.out}\n{result.err}"
    h1, h2, h3 = (trio.host(n) for n in ("h1", "h2", "h3"))
    assert "this host is h1 (10.231.7.1) of the bundle's inventory, found by hostname h1" in (
        trio.results["h1"].err
    )
    assert "found by address 10.231.7.2" in trio.results["h2"].err
    assert "found by --host h3" in trio.results["h3"].err
    for name in ("h1", "h2", "h3"):
        assert "ZooKeeper quorum" in trio.results[name].out, trio.results[name]
    # Only the hosts without Nimbus wait for it.
    assert "accepts connections" not in trio.results["h1"].out
    assert "Nimbus            h1 (10.231.7.1:6627) accepts connections" in trio.results["h2"].out

    # A real ensemble: one leader, two followers, each asked over the bridge from h3.
    assert sorted(str(h3.zk_mode(h.address)) for h in (h1, h2, h3)) == [
        "follower",
        "follower",
        "leader",
    ]
    # Each host got its part of the one inventory.
    for zk_id, host in enumerate((h1, h2, h3), start=1):
        assert (host.prefix / "data" / "zookeeper" / "myid").read_text() == f"{zk_id}\n"
        zoo = (host.prefix / "etc" / "zookeeper" / "zoo.cfg").read_text()
        for i, peer in enumerate((h1, h2, h3), start=1):
            assert f"server.{i}={peer.address}:2888:3888;2181\n" in zoo
        assert "4lw.commands.whitelist=ruok,srvr,mntr" in zoo
    assert "admin.serverPort=8081" in (h1.prefix / "etc" / "zookeeper" / "zoo.cfg").read_text()
    yaml3 = (h3.prefix / "etc" / "storm" / "storm.yaml").read_text()
    assert 'storm.zookeeper.servers:\n  - "10.231.7.1"\n  - "10.231.7.2"\n  - "10.231.7.3"\n' in (
        yaml3
    )
    assert 'nimbus.seeds:\n  - "10.231.7.1"\n' in yaml3
    assert "supervisor.slots.ports:\n  - 6700\n  - 6701\n# Heaps" in yaml3
    # Services run as each host's own user, from each host's own prefix.
    for host in (h1, h2, h3):
        assert host.program("zookeeper")["statename"] == "RUNNING"
        assert os.stat(f"/proc/{host.program('zookeeper')['pid']}").st_uid == (
            os.stat(host.prefix / "data" / "zookeeper").st_uid
        )

    # The proof: Nimbus, asked by `stormctl status` on h2, lists both supervisors by the
    # addresses storm.yaml gives them, with their slots; h1 leads.
    found = wait_until(lambda: storm_cluster(h2, 2), 90, "Nimbus listing 2 supervisors")
    by_host = {s["host"]: s["slots"] for s in found["supervisors"]}
    assert by_host == {h2.address: 4, h3.address: 2}
    assert found["leader"] == h1.address and found["problems"] == []
    # The stand-in UI on h1, asked from h3, sees the same daemons in ZooKeeper.
    data = summary(h3, h1)
    assert (data["supervisors"], data["nimbuses"], data["zookeeper"]) == (2, 1, "connected")
    print(f"three hosts installed in parallel in {trio.seconds:.0f}s")


def test_render_shows_exactly_what_a_host_got(trio: Trio, tmp_path: Path) -> None:
    """`bundler render` with the host facts the installer found gives the installed bytes."""
    h2 = trio.host("h2")
    values = json.loads((h2.prefix / "state" / "installed.json").read_text())["values"]
    proc = subprocess.run(
        [
            sys.executable, "-m", "bundler", "render", "--cluster", str(trio.toml),
            "--host", "h2", "--out", str(tmp_path), "--java-home", values["java_home"],
            "--java-major", str(values["java_major"]), "--memory-mb", str(values["memory_mb"]),
            "--python", values["python"], "--launcher-python", values["launcher_python"],
        ],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rendered = sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
    )
    assert "etc/zookeeper/zoo.cfg" in rendered and "etc/storm/storm.yaml" in rendered
    for rel in rendered:
        got = (h2.prefix / rel).read_text()
        shown = (tmp_path / rel).read_text()
        if rel == "etc/supervisord.conf":
            # The one difference: each host makes its own web password.
            got = re.sub(r"password=\{SHA\}\w+", "password=", got)
            shown = re.sub(r"password=\{SHA\}\w+", "password=", shown)
        assert got == shown, rel


def listening(host: Host) -> set[int]:
    """The TCP ports something listens on in the host's namespace, as `ss -ltn` shows them."""
    proc = host.run("ss", "-ltnH")
    assert proc.returncode == 0, proc.stderr
    return {int(line.split()[3].rsplit(":", 1)[1]) for line in proc.stdout.splitlines()}


def ports_match_listening(toml: Path, hosts: list[Host]) -> None:
    """`bundler ports` for the inventory, and `stormctl ports` on each host, against `ss -ltn`
    in each host's namespace."""
    proc = subprocess.run(
        [sys.executable, "-m", "bundler", "ports", "--cluster", str(toml), "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    by_name = {h.name: h for h in hosts}
    for entry in json.loads(proc.stdout):
        host = by_name[entry["name"]]
        stormctl = host.run(str(host.prefix / "bin" / "stormctl"), "ports", "--format", "json")
        assert json.loads(stormctl.stdout) == [entry], stormctl.stderr
        listed = {p["port"]: p for p in entry["ports"]}
        # Not open with no topology running: the workers' slots. Only the ZooKeeper leader
        # opens the peer port.
        idle = {p for p, e in listed.items() if e["role"] == "worker"}
        if host.zk_mode() != "leader":
            idle |= {p for p, e in listed.items() if e["option"] == "zk_peer_port"}
        assert listening(host) == set(listed) - idle, entry["name"]


def test_ports_are_what_the_daemons_listen_on(trio: Trio) -> None:
    ports_match_listening(trio.toml, trio.net.hosts)


def test_smoke_acks_tuples_on_workers_of_both_supervisor_hosts(trio: Trio) -> None:
    """The service check across the cluster: run on h2 (a supervisor host), it submits
    ExclamationTopology to Nimbus on h1, whose three workers spread over h2 and h3, sees every
    executor report, and bolts ack tuples."""
    h1, h2, h3 = (trio.host(n) for n in ("h1", "h2", "h3"))
    # The example topology is the one the bundle carried (PREFIX/lib/smoke/).
    out = smoke(h2, [h2, h3])
    # Workers on both supervisor hosts started and reported; bolts acked tuples.
    lines = out.splitlines()
    schedule = next(line for line in lines if line.startswith("smoke: schedule "))
    assert f"{h2.address}:" in schedule and f"{h3.address}:" in schedule, out
    assert any(line.startswith("smoke: worker start ok") for line in lines), out
    acks = next(line for line in lines if line.startswith("smoke: acks "))
    assert h2.address in acks or h3.address in acks, out
    assert f"leader {h1.address}, 2 supervisors" in out
    assert lines[-1].startswith("smoke: passed")
    # Killed: Nimbus lists no topology, and every slot is free again.
    idle = wait_until(
        lambda: (lambda c: c if c and c["free_slots"] == 6 else None)(storm_cluster(h3, 2)),
        90,
        "every slot free after the kill",
    )
    assert idle["topologies"] == []


def test_cluster_survives_a_lost_zookeeper_and_a_killed_daemon(trio: Trio) -> None:
    h1, h2, h3 = (trio.host(n) for n in ("h1", "h2", "h3"))
    hosts = [h1, h2, h3]
    seen = wait_until(lambda: storm_cluster(h2, 2), 90, "Nimbus listing 2 supervisors")
    before = {s["host"]: s["id"] for s in seen["supervisors"]}

    # Stop the leader's ZooKeeper: the other two elect a new leader and keep serving.
    leader = next(h for h in hosts if h.zk_mode() == "leader")
    leader.rpc().supervisor.stopProcess("zookeeper", True)
    assert leader.zk_mode() is None
    rest = [h for h in hosts if h is not leader]
    wait_until(
        lambda: sorted(str(m) for m in modes(rest)) == ["follower", "leader"],
        60,
        f"a new leader among {[h.name for h in rest]} after stopping {leader.name}'s ZooKeeper",
    )
    after = wait_until(lambda: storm_cluster(rest[0], 2), 90, "2 supervisors, quorum of 2")
    assert {s["host"]: s["id"] for s in after["supervisors"]} == before

    # kill -9 a Storm daemon's JVM: supervisord starts it again, and it registers again.
    old = h2.program("storm-supervisor")
    assert os.path.basename(os.readlink(f"/proc/{old['pid']}/exe")) == "java"
    os.kill(old["pid"], signal.SIGKILL)

    def restarted() -> dict[str, Any] | None:
        info = h2.program("storm-supervisor")
        running = info["statename"] == "RUNNING" and info["pid"] not in (0, old["pid"])
        return info if running else None

    new = wait_until(restarted, 60, "storm-supervisor RUNNING again with a new pid")
    assert new["pid"] != old["pid"]
    # Apache's supervisor keeps its id in its local state: the same two come back.
    again = wait_until(lambda: storm_cluster(h3, 2), 90, "2 supervisors after the kill")
    assert {s["host"]: s["id"] for s in again["supervisors"]} == before

    # The ensemble whole again for the tests after this one.
    leader.rpc().supervisor.startProcess("zookeeper", True)
    wait_until(lambda: None not in modes(hosts), 60, "all three ZooKeeper members serving")


# --- the book's two machines: Storm 0.9.5 and ZooKeeper 3.4.6 ---


def test_book_two_hosts_with_waits_and_detection(mirror_dir: Path, wheelhouse: Path) -> None:
    with Network("bcb", "10.231.8") as net:
        storm1 = net.add("storm1", user_name("a"))
        storm2 = net.add("storm2", user_name("b"))
        roles = {"storm1": ["zookeeper", "nimbus", "ui", "supervisor"], "storm2": ["supervisor"]}
        toml = inventory(net, "book", "0.9.5", "3.4.6", roles)
        bundle = unpack(build_bundle(mirror_dir, wheelhouse, "0.9.5", "3.4.6", cluster=toml),
                        net.root / "bundle")  # fmt: skip

        # A host that is in no inventory: one line, the candidates, nothing changed.
        stranger = net.add("stranger", user_name("c"))
        lost = stranger.install(bundle, "--check", hostname="stranger")
        assert lost.code == 2, lost
        verified, line = lost.err.strip().splitlines()
        assert verified == "install.sh: bundle verified: every file matches SHA256SUMS"
        assert line.startswith("install: error: this host is none of the bundle's inventory hosts")
        assert "hostname stranger, addresses " in line and "10.231.8.3" in line, line
        assert line.endswith(
            "candidates: storm1 (10.231.8.1), storm2 (10.231.8.2); pass --host NAME"
        ), line
        assert not stranger.prefix.exists()

        # The worker first: it waits for ZooKeeper on storm1, reports, and gives up naming it.
        early = storm2.install(bundle, "--peer-timeout", "4", hostname="storm2")
        assert early.code == 5, early
        assert "waiting up to 4s for ZooKeeper quorum" in early.err, early
        assert "ZooKeeper quorum: gave up after 4s (--peer-timeout); missing storm1 " in early.err
        assert "storm1 (10.231.8.1:2181): connection refused" in early.err, early

        first = storm1.install(bundle, hostname="storm1")
        assert first.code == 0, first
        assert "ruok imok, srvr Mode: standalone" in first.out, first
        zoo = (storm1.prefix / "etc" / "zookeeper" / "zoo.cfg").read_text()
        assert "server.1=" not in zoo and "clientPort=2181" in zoo
        for host in (storm1, storm2):
            yaml = (host.prefix / "etc" / "storm" / "storm.yaml").read_text()
            assert 'nimbus.host: "10.231.8.1"' in yaml
            assert 'storm.zookeeper.servers:\n  - "10.231.8.1"\n' in yaml

        # Again on the worker, now that its peers are there: healthy, nothing restarted.
        pid = storm2.program("storm-supervisor")["pid"]
        second = storm2.install(bundle, hostname="storm2")
        assert second.code == 0, second
        assert (
            "ZooKeeper quorum  1 of 1 serving, 1 needed: storm1 (10.231.8.1:2181) standalone"
            in second.out
        )
        assert "Nimbus            storm1 (10.231.8.1:6627) accepts connections" in second.out
        assert storm2.program("storm-supervisor")["pid"] == pid

        found = wait_until(lambda: supervisors_seen(storm2, storm1, 2), 60, "2 supervisors")
        # storm.local.hostname: each registers by the address the inventory gives it.
        assert sorted(s["host"] for s in found) == [storm1.address, storm2.address]
        assert summary(storm1, storm1)["stormVersion"] == "0.9.5"
        ports_match_listening(toml, [storm1, storm2])

        # Removed again by name: the prefix is the inventory's. Its supervisor leaves the UI
        # at once (a clean stop closes its ZooKeeper session).
        gone = storm2.install(bundle, "--uninstall", "--purge", "--host", "storm2")
        assert gone.code == 0, gone
        assert not (storm2.prefix / "state").exists() and not storm2.pids()
        left = wait_until(lambda: supervisors_seen(storm1, storm1, 1), 10, "1 supervisor left")
        assert [s["host"] for s in left] == [storm1.address]
