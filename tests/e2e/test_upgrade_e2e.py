"""A rolling upgrade and a rolling rollback of a three-member ensemble, with quorum watched.

Three hosts (network namespaces, tests/netns.py) get bundle A (Storm 1.2.4, ZooKeeper 3.4.14,
Apache's own 3.4.14 jars: a young ensemble with transaction logs and no snapshot, which 3.8
refuses unless 3.4 writes one first); znodes are written through the ensemble; each host is
upgraded to bundle B (ZooKeeper 3.8.4) with `--upgrade`, one after another, followers first and
the leader last, while a probe inside the cluster asks every member `srvr` every half second.
Storm 1.2.4 is Apache's own (Nimbus and UI on h1, supervisors on h2 and h3), on the Java 11
each bundle carries (1.2.4 cannot run on this machine's Java 17): after the upgrade `stormctl
smoke` runs a topology with workers on both supervisor hosts. Then `stormctl rollback` host by
host returns them all to A. The only gaps without two serving
members and a leader may be the elections a restarted leader causes, never more than 10
samples (5 s) in a row, and every znode is served by every member after each move.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.bundles import build_bundle, unpack
from tests.support.netns import Host, Network, smoke
from tests.support.netns import inventory as ensemble_toml
from tests.support.zkprobe import Probe, znodes

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("ip") is None
    or shutil.which("unshare") is None
    or shutil.which("dash") is None,
    reason="needs root, ip, unshare and dash (network namespaces, service users)",
)

# Written through the ensemble on 3.4 before the upgrade: every one must survive each move.
WRITTEN = {
    "/rolling-upgrade": "kept",
    "/rolling-upgrade/child": "kept too",
    "/app": "",
    "/app/config": "key=value",
}


def user_name(tag: str) -> str:
    return f"bu{os.getpid() % 100000}{tag}"


def inventory(net: Network, zk: str) -> Path:
    """The ensemble's cluster.toml for ZooKeeper `zk`, a file of its own per release."""
    name = "rolling-" + zk.replace(".", "-")
    return ensemble_toml(net, name, "1.2.4", zk, path=net.root / f"cluster-{zk}.toml")


def java_home(host: Host) -> str:
    state = json.loads((host.prefix / "state" / "installed.json").read_text())
    return str(state["values"]["java_home"])


def every_member_serves(h1: Host, hosts: list[Host]) -> None:
    """Each member, asked on its own, serves every znode written before the upgrade."""
    for member in hosts:
        found = znodes(h1, member.address)
        assert {k: found.get(k) for k in WRITTEN} == WRITTEN, (member.name, found)


def stormctl(host: Host, *words: str) -> subprocess.CompletedProcess[str]:
    return host.run(str(host.prefix / "bin" / "stormctl"), *words, timeout=600)


def leader_last(hosts: list[Host]) -> list[Host]:
    """The documented order: followers first, the leader last."""
    modes = {h.name: h.zk_mode() for h in hosts}
    assert sorted(str(m) for m in modes.values()) == ["follower", "follower", "leader"], modes
    return sorted(hosts, key=lambda h: modes[h.name] == "leader")


def zk_top(host: Host) -> str:
    return os.readlink(host.prefix / "zookeeper")


def smoke_on_both_supervisor_hosts(hosts: list[Host]) -> None:
    """stormctl smoke from h2: workers scheduled on h2 and h3, bolts acking tuples."""
    h1, h2, h3 = hosts
    out = smoke(h2, hosts)
    print(f"--- h2: stormctl smoke\n{out}")
    schedule = next(line for line in out.splitlines() if line.startswith("smoke: schedule "))
    assert f"{h2.address}:" in schedule and f"{h3.address}:" in schedule, out
    assert f"leader {h1.address}, 2 supervisors" in out
    assert out.splitlines()[-1].startswith("smoke: passed")


def test_rolling_upgrade_and_rollback_keep_quorum_and_the_znode(
    mirror_dir: Path, wheelhouse: Path, java11_jre: Path
) -> None:
    with Network("bup", "10.231.63") as net:
        hosts = [net.add(name, user_name(name[-1])) for name in ("h1", "h2", "h3")]
        h1 = hosts[0]
        toml_a = inventory(net, "3.4.14")
        bundle_a = unpack(build_bundle(mirror_dir, wheelhouse, "1.2.4", "3.4.14", jdk=java11_jre,
                                       cluster=toml_a), net.root / "a")  # fmt: skip
        toml_b = inventory(net, "3.8.4")
        bundle_b = unpack(build_bundle(mirror_dir, wheelhouse, "1.2.4", "3.8.4", jdk=java11_jre,
                                       cluster=toml_b), net.root / "b")  # fmt: skip
        name_a = json.loads((bundle_a / "bundle.json").read_text())["name"]
        name_b = json.loads((bundle_b / "bundle.json").read_text())["name"]

        results: dict[str, Any] = {}
        threads = [
            threading.Thread(target=lambda h=h: results.update({h.name: h.install(bundle_a)}))
            for h in hosts
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for name, result in results.items():
            assert result.code == 0, (name, result)
        znodes(h1, h1.address, WRITTEN)  # through the ensemble, on 3.4
        every_member_serves(h1, hosts)

        probe = Probe(h1, hosts)
        try:
            # Without --upgrade: the plan, exit 2, one line naming --upgrade, nothing changed.
            first = leader_last(hosts)[0]
            before = zk_top(first)
            refused = first.install(bundle_b)
            assert refused.code == 2, refused
            assert "zookeeper 3.4.14 -> 3.8.4" in refused.out, refused
            assert refused.err.strip().splitlines()[-1] == (
                "install: error: this host has another release installed (zookeeper 3.4.14 -> "
                "3.8.4); the plan is above: run again with --upgrade to carry it out"
            )
            assert zk_top(first) == before

            # --dry-run shows the upgrade's steps and changes nothing.
            dry = first.install(bundle_b, "--upgrade", "--dry-run")
            assert dry.code == 0, dry
            assert "would keep the previous install (" in dry.out, dry
            assert "/data/zookeeper.before-3.8.4 (ZooKeeper's data as it was" in dry.out, dry
            assert zk_top(first) == before and not (first.prefix / "state" / "previous").exists()

            started = time.time()
            for host in leader_last(hosts):
                done = host.install(bundle_b, "--upgrade")
                print(f"--- {host.name}: install.sh --upgrade\n{done.err}{done.out}")
                assert done.code == 0, (host.name, done)
                assert re.search(
                    r"\nZooKeeper leader  h\d \(10\.231\.63\.\d:2181\); members: ", done.out
                )
                assert zk_top(host) == "releases/apache-zookeeper-3.8.4-bin"
                # The plan said which programs restart, in which order: those did, so.
                planned = re.search(r"restart, in this order: (.*)\n", done.out)
                assert planned, done.out
                restarted = re.findall(r"install: restart (?:program )?([\w-]+) ", done.err)
                assert restarted == planned.group(1).split(", ")
                assert restarted[0] == "zookeeper"
                assert (host.prefix / "data" / "zookeeper.before-3.8.4" / "myid").is_file()
                every_member_serves(h1, hosts)
            upgrade_gaps = probe.gaps()
            print(f"upgrade of 3 hosts: {time.time() - started:.0f}s, gaps {upgrade_gaps}")
            for host in hosts:
                status = stormctl(host, "status")
                print(f"--- {host.name}: stormctl status\n{status.stdout}")
                assert status.returncode == 0, (host.name, status)
                assert f"installed: {name_b} " in status.stdout, status.stdout
                assert "zookeeper 3.8.4" in status.stdout
                assert f"previous:  {name_a} (storm 1.2.4, zookeeper 3.4.14)" in status.stdout
                assert "ZooKeeper quorum  ok: 3 of 3 serving" in status.stdout
            # Apache's Storm 1.2.4 runs a topology across the upgraded ensemble.
            smoke_on_both_supervisor_hosts(hosts)

            mark = probe.mark()
            started = time.time()
            for host in leader_last(hosts):
                back = stormctl(host, "rollback")
                print(f"--- {host.name}: stormctl rollback\n{back.stderr}{back.stdout}")
                assert back.returncode == 0, (host.name, back.stdout, back.stderr)
                assert "older line 3.4 (3.4.14)" in back.stderr, back.stderr
                assert f"rolled back; {name_a} is the installed bundle" in back.stdout
                assert zk_top(host) == "releases/zookeeper-3.4.14"
                again = stormctl(host, "rollback")
                assert again.returncode == 0 and "nothing to roll back" in again.stderr, again
                every_member_serves(h1, hosts)
            rollback_gaps = probe.gaps(mark)
            print(f"rollback of 3 hosts: {time.time() - started:.0f}s, gaps {rollback_gaps}")
            for host in hosts:
                status = stormctl(host, "status")
                assert status.returncode == 0, (host.name, status)
                assert f"installed: {name_a} " in status.stdout
                assert "previous:  none kept" in status.stdout
            # --uninstall removes the package copy; --purge the copies of ZooKeeper's data too.
            last = leader_last(hosts)[0]
            gone = last.install(bundle_a, "--uninstall")
            assert gone.code == 0, gone
            assert sorted(p.name for p in last.prefix.iterdir()) == ["data", "logs", "state"]
            kept = sorted(p.name for p in (last.prefix / "data").iterdir())
            assert "zookeeper" in kept and "zookeeper.before-3.8.4" in kept, kept
            purged = last.install(bundle_a, "--uninstall", "--purge")
            assert purged.code == 0, purged
            assert not last.prefix.exists()
        finally:
            probe.stop()
        samples = len(probe.samples)
        print(f"{samples} samples; gaps up {upgrade_gaps}, back {rollback_gaps}")
        assert samples > 20
        assert max(upgrade_gaps + rollback_gaps, default=0) <= 10
