"""Real SSH for the Ansible tests: throwaway keys, one sshd per host namespace on that host's
address, and the PLAY RECAP counters of a playbook run."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.netns import Host

SSHD = "/usr/sbin/sshd"


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
