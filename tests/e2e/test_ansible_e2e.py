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
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.bundles import build_bundle
from tests.support.netns import Network, inventory, supervisors_seen, wait_until
from tests.support.sshd import SSHD, keygen, recap, ssh_answers, start_sshd

VENV_BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("ip") is None
    or shutil.which("unshare") is None
    or shutil.which("ssh") is None
    or not Path(SSHD).exists()
    or not (VENV_BIN / "ansible-playbook").exists(),
    reason="needs root, ip, unshare, ssh, sshd (openssh-server) and ansible-core in the venv",
)


def user_name(tag: str) -> str:
    return f"bfa{os.getpid() % 100000}{tag}"


def test_site_yml_over_ssh_brings_up_the_cluster_and_is_idempotent(
    mirror_dir: Path, wheelhouse: Path
) -> None:
    privsep = Path("/run/sshd")  # sshd refuses to start without it
    made_privsep = not privsep.exists()
    if made_privsep:
        privsep.mkdir(mode=0o755)
    sshd: list[subprocess.Popen[bytes]] = []
    try:
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

            keys = net.root / "keys"
            keys.mkdir(mode=0o700)
            keygen(keys / "host_key")
            keygen(keys / "client_key")
            shutil.copy(keys / "client_key.pub", keys / "authorized_keys")
            sshd = [start_sshd(h, keys) for h in hosts]
            for host in hosts:
                wait_until(lambda h=host: ssh_answers(ctl, h), 30, f"sshd on {host.name}")

            project = net.root / "project"
            proc = subprocess.run(
                [sys.executable, "-m", "bundler", "ansible", "--cluster", str(toml),
                 "--bundle", str(bundle), "--out", str(project)],
                capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            # The test's own connection settings, beside the generated variables.
            (project / "group_vars" / "all" / "test.yml").write_text(
                "---\n"
                "ansible_user: root\n"
                f"ansible_ssh_private_key_file: {keys / 'client_key'}\n"
                "ansible_ssh_common_args: >-\n"
                "  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n"
                "ansible_python_interpreter: /usr/bin/python3\n"
            )
            (project / "host_vars").mkdir()
            for host in hosts:
                # The namespaces share one filesystem: each host stages in its own folder.
                (project / "host_vars" / f"{host.name}.yml").write_text(
                    f"---\nbundler_stage_dir: {host.prefix.parent / 'stage'}\n"
                    f"ansible_remote_tmp: {host.prefix.parent / 'ansible-tmp'}\n"
                )
            home = net.root / "controller"
            home.mkdir()
            env = {
                "PATH": f"{VENV_BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME": str(home),
                "LANG": "C.UTF-8",
                "ANSIBLE_HOME": str(home / ".ansible"),
                "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
                "ANSIBLE_SSH_CONTROL_PATH_DIR": str(home / "cp"),
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0",
            }

            def playbook(name: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    ctl.exec_cmd(str(VENV_BIN / "ansible-playbook"), name),
                    capture_output=True, text=True, cwd=project, env=env, timeout=1200,
                    check=False,
                )  # fmt: skip

            start = time.time()
            first = playbook("site.yml")
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
            found = wait_until(lambda: supervisors_seen(ctl, h1, 2), 60, "UI with 2 supervisors")
            assert sorted(s["host"] for s in found) == ["h2", "h3"]
            pids = {h.name: h.program("zookeeper")["pid"] for h in hosts}

            start = time.time()
            second = playbook("site.yml")
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
    finally:
        for proc in sshd:
            # Already ended with its namespace; reap it.
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
        if made_privsep:
            shutil.rmtree(privsep, ignore_errors=True)
