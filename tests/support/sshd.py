"""Real SSH for the Ansible tests: throwaway keys, one sshd per host namespace on that host's
address, the project `bundler ansible` writes with the test's connection settings, and
ansible-playbook run from a controller namespace with its PLAY RECAP counters."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from tests.support.netns import Host, wait_until

SSHD = "/usr/sbin/sshd"
PRIVSEP = Path("/run/sshd")  # sshd refuses to start without it
VENV_BIN = Path(sys.executable).parent

# What a test over real sshd and ansible-core needs; `pytestmark = needs_fleet` in each.
needs_fleet = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("ip") is None
    or shutil.which("unshare") is None
    or shutil.which("ssh") is None
    or not Path(SSHD).exists()
    or not (VENV_BIN / "ansible-playbook").exists(),
    reason="needs root, ip, unshare, ssh, sshd (openssh-server) and ansible-core in the venv",
)
ROOT = Path(__file__).resolve().parents[2]


def keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bundler-test", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )


def start_sshd(host: Host, keys: Path) -> subprocess.Popen[bytes]:
    """sshd in the host's namespace, on its address only, with the host's own name."""
    config = host.prefix.parent / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {host.address}",
                "Port 22",
                f"HostKey {keys / 'host_key'}",
                f"AuthorizedKeysFile {keys / 'authorized_keys'}",
                "PidFile none",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                # Without PAM, sshd refuses every login to an account whose password is
                # locked, which root's often is; PAM's account check does not.
                "UsePAM yes",
                # The keys live in a temporary folder under /tmp.
                "StrictModes no",
                "Subsystem sftp /usr/lib/openssh/sftp-server",
                "",
            ]
        )
    )
    cmd = host.exec_cmd(SSHD, "-D", "-e", "-f", str(config), hostname=host.name)
    with (host.prefix.parent / "sshd.log").open("wb") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def ssh_answers(ctl: Host, host: Host) -> bool:
    code = f"import socket;socket.create_connection(({host.address!r},22),2).close()"
    return ctl.run("/usr/bin/python3", "-c", code).returncode == 0


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    found: dict[str, dict[str, int]] = {}
    for line in output.split("PLAY RECAP", 1)[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if match:
            found[match.group(1)] = {
                k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))
            }
    return found


@contextmanager
def sshd_fleet(hosts: list[Host], ctl: Host, root: Path) -> Iterator[Path]:
    """Throwaway host and client keys under root/keys and one sshd per host, answering from
    the controller `ctl`; yields the keys folder. Each sshd is ended by its pid afterwards."""
    made_privsep = not PRIVSEP.exists()
    if made_privsep:
        PRIVSEP.mkdir(mode=0o755)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        keys = root / "keys"
        keys.mkdir(mode=0o700)
        keygen(keys / "host_key")
        keygen(keys / "client_key")
        shutil.copy(keys / "client_key.pub", keys / "authorized_keys")
        procs = [start_sshd(h, keys) for h in hosts]
        for host in hosts:
            wait_until(partial(ssh_answers, ctl, host), 30, f"sshd on {host.name}")
        yield keys
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
        if made_privsep:
            shutil.rmtree(PRIVSEP, ignore_errors=True)


def ansible_project(out: Path, hosts: list[Host], toml: Path, bundle: Path, keys: Path) -> Path:
    """`bundler ansible` for one bundle into `out`, plus the test's own connection settings
    beside the generated variables (`StrictHostKeyChecking=no` only here)."""
    proc = subprocess.run(
        [sys.executable, "-m", "bundler", "ansible", "--cluster", str(toml),
         "--bundle", str(bundle), "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (out / "group_vars" / "all" / "test.yml").write_text(
        "---\n"
        "ansible_user: root\n"
        f"ansible_ssh_private_key_file: {keys / 'client_key'}\n"
        "ansible_ssh_common_args: >-\n"
        "  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n"
        "ansible_python_interpreter: /usr/bin/python3\n"
    )
    (out / "host_vars").mkdir()
    for host in hosts:
        # The namespaces share one filesystem: each host stages in its own folder.
        (out / "host_vars" / f"{host.name}.yml").write_text(
            f"---\nbundler_stage_dir: {host.prefix.parent / 'stage'}\n"
            f"ansible_remote_tmp: {host.prefix.parent / 'ansible-tmp'}\n"
        )
    return out


class Controller:
    """ansible-playbook run inside the controller's namespace, with its own home."""

    def __init__(self, ctl: Host, home: Path) -> None:
        home.mkdir()
        self.ctl = ctl
        self.env = {
            "PATH": f"{VENV_BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "ANSIBLE_HOME": str(home / ".ansible"),
            "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(home / "cp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        }

    def playbook(self, project: Path, name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.ctl.exec_cmd(str(VENV_BIN / "ansible-playbook"), name),
            capture_output=True, text=True, cwd=project, env=self.env, timeout=1200,
            check=False,
        )  # fmt: skip
