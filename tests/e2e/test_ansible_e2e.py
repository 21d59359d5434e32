"""The project `bundler ansible` writes, run by the real engine over real SSH.

Three hosts are network namespaces on a bridge (tests/support/netns.py), each with its own sshd
(Debian's openssh-server) listening on that host's address, with a throwaway host key and a
throwaway client key made in the test's folder. A fourth namespace on the same bridge is the
controller: ansible-playbook (ansible-core from PyPI) runs there and reaches the hosts only
over the bridge. `StrictHostKeyChecking=no` is set in the test's own inventory variables only.

site.yml must bring up a healthy cluster (a real three-member ZooKeeper ensemble with a leader,
the UI reporting both supervisors), and a second run must report changed=0 for every host.
Every process is ended by pid (through its namespace), and namespaces, users and folders are
removed, also when the test fails. Root only, under the machine-wide e2e lock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.support.bundles import build_bundle
from tests.support.netns import Network, inventory, storm_cluster, wait_until
from tests.support.sshd import Controller, ansible_project, needs_fleet, recap, sshd_fleet

pytestmark = needs_fleet


def user_name(tag: str) -> str:
    return f"bfa{os.getpid() % 100000}{tag}"


def test_site_yml_over_ssh_brings_up_the_cluster_and_is_idempotent(
    mirror_dir: Path, wheelhouse: Path
) -> None:
    with Network("bfa", "10.231.41") as net:
        hosts = [net.add(name, user_name(name[-1])) for name in ("h1", "h2", "h3")]
        ctl = net.add("ctl", user_name("c"))
        h1, h2, h3 = hosts
        roles = {
            "h1": ["zookeeper", "nimbus", "ui"],
            "h2": ["zookeeper", "supervisor"],
            "h3": ["zookeeper", "supervisor"],
        }
        toml = inventory(net, "fleet", "2.6.4", "3.8.4", roles)
        bundle = build_bundle(mirror_dir, wheelhouse, cluster=toml)
        with sshd_fleet(hosts, ctl, net.root) as keys:
            project = ansible_project(net.root / "project", hosts, toml, bundle, keys)
            controller = Controller(ctl, net.root / "controller")

            start = time.time()
            first = controller.playbook(project, "site.yml")
            first_seconds = time.time() - start
            assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
            counts = recap(first.stdout)
            assert sorted(counts) == ["h1", "h2", "h3"], first.stdout[-3000:]
            for name, c in counts.items():
                assert c["failed"] == 0 and c["unreachable"] == 0 and c["changed"] >= 3, (name, c)

            # A real ensemble with a leader, asked over the bridge from the controller.
            assert sorted(str(ctl.zk_mode(h.address)) for h in hosts) == [
                "follower",
                "follower",
                "leader",
            ]
            # The installs ran as each host's own service user, from its own prefix.
            for host in hosts:
                assert host.program("zookeeper")["statename"] == "RUNNING"
            # Apache's Nimbus lists both supervisors, by the addresses the inventory gives them.
            found = wait_until(lambda: storm_cluster(h2, 2), 90, "Nimbus with 2 supervisors")
            assert sorted(s["host"] for s in found["supervisors"]) == [h2.address, h3.address]
            pids = {h.name: h.program("zookeeper")["pid"] for h in hosts}

            start = time.time()
            second = controller.playbook(project, "site.yml")
            second_seconds = time.time() - start
            assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
            counts = recap(second.stdout)
            assert sorted(counts) == ["h1", "h2", "h3"]
            for name, c in counts.items():
                assert c["changed"] == 0 and c["failed"] == 0, (name, c, second.stdout[-4000:])
            # Nothing was restarted either.
            assert {h.name: h.program("zookeeper")["pid"] for h in hosts} == pids
            assert sorted(str(ctl.zk_mode(h.address)) for h in (h1, h2, h3)).count("leader") == 1
            print(
                f"site.yml over SSH: first run {first_seconds:.0f}s, second {second_seconds:.0f}s"
            )
