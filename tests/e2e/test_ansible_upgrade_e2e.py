"""upgrade.yml and rollback.yml, run by the real engine over real SSH, with quorum watched.

Three hosts (network namespaces on a bridge) each run an sshd on their own address; a fourth
namespace is the controller. site.yml of bundle A (Apache's Storm 1.2.4 on the Java 11 the bundle
carries, and ZooKeeper 3.4.14, Apache's own jars) brings the cluster up and znodes are written
through it; upgrade.yml of bundle B's project (ZooKeeper 3.8.4) moves every host to B, followers
first and the leader last, while a probe on the controller asks every member `srvr` every half
second; rollback.yml returns every host to A, and a second rollback.yml reports no change. The only
gaps without two serving members and a leader may be the elections a restarted leader causes, never
more than 10 samples in a row, and every member serves every znode after each playbook. Root only,
under the machine-wide e2e lock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.support.bundles import build_bundle
from tests.support.netns import Host, Network, inventory
from tests.support.sshd import Controller, ansible_project, needs_fleet, recap, sshd_fleet
from tests.support.zkprobe import Probe, znodes

ROLES = {
    "h1": ["zookeeper", "nimbus", "ui"],
    "h2": ["zookeeper", "supervisor"],
    "h3": ["zookeeper", "supervisor"],
}

pytestmark = needs_fleet


def user_name(tag: str) -> str:
    return f"bfu{os.getpid() % 100000}{tag}"


# Written through the ensemble on Apache's 3.4.14 (logs, no snapshot: 3.8 would refuse it
# unless the old release writes one first): every member serves them after each playbook.
WRITTEN = {"/fleet": "kept", "/fleet/child": "kept too"}


def zk_top(host: Host) -> str:
    return os.readlink(host.prefix / "zookeeper")


def every_member_serves(ctl: Host, hosts: list[Host]) -> None:
    for member in hosts:
        found = znodes(ctl, member.address)
        assert {k: found.get(k) for k in WRITTEN} == WRITTEN, (member.name, found)


def test_upgrade_and_rollback_playbooks_keep_quorum(
    mirror_dir: Path, wheelhouse: Path, java11_jre: Path
) -> None:
    with Network("bfu", "10.231.42") as net:
        hosts = [net.add(name, user_name(name[-1])) for name in ("h1", "h2", "h3")]
        ctl = net.add("ctl", user_name("c"))
        tomls = {}
        for zk in ("3.4.14", "3.8.4"):
            # inventory() writes cluster.toml: each bundle keeps its own copy.
            written = inventory(net, "fleet-" + zk.replace(".", "-"), "1.2.4", zk, ROLES)
            tomls[zk] = written.rename(net.root / f"cluster-{zk}.toml")
        # Apache's Storm 1.2.4 runs on Java 8 to 13: each bundle carries Debian's Java 11.
        bundle_a = build_bundle(mirror_dir, wheelhouse, "1.2.4", "3.4.14", jdk=java11_jre,
                                cluster=tomls["3.4.14"])  # fmt: skip
        bundle_b = build_bundle(mirror_dir, wheelhouse, "1.2.4", "3.8.4", jdk=java11_jre,
                                cluster=tomls["3.8.4"])  # fmt: skip
        with sshd_fleet(hosts, ctl, net.root) as keys:
            project_a = ansible_project(
                net.root / "project-a", hosts, tomls["3.4.14"], bundle_a, keys
            )
            project_b = ansible_project(
                net.root / "project-b", hosts, tomls["3.8.4"], bundle_b, keys
            )
            controller = Controller(ctl, net.root / "controller")

            def playbook(where: Path, name: str) -> dict[str, dict[str, int]]:
                done = controller.playbook(where, name)
                assert done.returncode == 0, (name, done.stdout[-6000:] + done.stderr[-3000:])
                counts = recap(done.stdout)
                assert sorted(counts) == ["h1", "h2", "h3"], done.stdout[-3000:]
                for host, c in counts.items():
                    assert c["failed"] == 0 and c["unreachable"] == 0, (name, host, c)
                print(f"--- {name}\n{done.stdout[-2500:]}")
                return counts

            playbook(project_a, "site.yml")
            for host in hosts:
                assert zk_top(host) == "releases/zookeeper-3.4.14"
            znodes(ctl, hosts[0].address, {"/fleet": "kept"})
            znodes(ctl, hosts[1].address, {"/fleet/child": "kept too"})
            every_member_serves(ctl, hosts)

            probe = Probe(ctl, hosts)
            try:
                started = time.time()
                counts = playbook(project_b, "upgrade.yml")
                upgrade_seconds, upgrade_gaps = time.time() - started, probe.gaps()
                for host in hosts:
                    assert counts[host.name]["changed"] >= 1, (host.name, counts)
                    assert zk_top(host) == "releases/apache-zookeeper-3.8.4-bin"
                    assert (host.prefix / "state" / "previous" / "installed.json").is_file()
                every_member_serves(ctl, hosts)

                mark = probe.mark()
                started = time.time()
                counts = playbook(project_b, "rollback.yml")
                rollback_seconds, rollback_gaps = time.time() - started, probe.gaps(mark)
                for host in hosts:
                    assert counts[host.name]["changed"] >= 1, (host.name, counts)
                    assert zk_top(host) == "releases/zookeeper-3.4.14"
                every_member_serves(ctl, hosts)
                # Nothing is left to roll back: a second run changes nothing.
                again = playbook(project_b, "rollback.yml")
                assert all(c["changed"] == 0 for c in again.values()), again
            finally:
                probe.stop()
            print(
                f"upgrade.yml {upgrade_seconds:.0f}s, quorum gaps {upgrade_gaps}; "
                f"rollback.yml {rollback_seconds:.0f}s, gaps {rollback_gaps}; "
                f"{len(probe.samples)} samples"
            )
            # Every sample must have been taken; each gap is an election, never a lost quorum.
            assert len(probe.samples) > 20
            assert all(gap <= 10 for gap in upgrade_gaps + rollback_gaps), (
                upgrade_gaps,
                rollback_gaps,
            )
            assert sorted(str(ctl.zk_mode(h.address)) for h in hosts).count("leader") == 1
