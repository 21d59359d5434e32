"""A probe inside one host's namespace that asks every ZooKeeper member `srvr` every half
second, and the runs of samples without two serving members and one leader (quorum gaps)."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

from tests.support.netns import Host

# Asks every member `srvr` every half second; one JSON line of modes per sample.
PROBE = """
import json, socket, sys, time
hosts = sys.argv[1:]
def mode(host):
    try:
        s = socket.create_connection((host, 2181), 0.4)
        s.settimeout(0.4)
        s.sendall(b"srvr")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
    except OSError:
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None
while True:
    start = time.time()
    sys.stdout.write(json.dumps([mode(h) for h in hosts]) + "\\n")
    sys.stdout.flush()
    time.sleep(max(0.0, 0.5 - (time.time() - start)))
"""


class Probe:
    """The probe process inside one host's namespace, and the samples it reported."""

    def __init__(self, host: Host, members: list[Host]) -> None:
        cmd = host.exec_cmd("/usr/bin/python3", "-u", "-c", PROBE, *(m.address for m in members))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.samples: list[list[str | None]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.samples.append(json.loads(line))

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self.thread.join(10)

    def mark(self) -> int:
        return len(self.samples)

    @staticmethod
    def healthy(sample: list[str | None]) -> bool:
        serving = [m for m in sample if m in ("leader", "follower")]
        return len(serving) >= 2 and serving.count("leader") == 1

    def gaps(self, start: int = 0) -> list[int]:
        """Lengths of the runs of samples without two serving members and one leader."""
        runs, run = [], 0
        for sample in self.samples[start:]:
            if self.healthy(sample):
                if run:
                    runs.append(run)
                run = 0
            else:
                run += 1
        return runs + ([run] if run else [])


# The installer's own ZooKeeper client (stdlib only), run inside a host's namespace: unlike
# 3.4's one-shot `zkCli.sh CMD`, it waits for its session before it asks.
ZNODES = """
import json, sys
sys.path.insert(0, sys.argv[1])
from onhost import zkclient
address, wanted = sys.argv[2], json.loads(sys.argv[3])
with zkclient.Session(address, 2181, timeout=20) as zk:
    for path, data in wanted.items():
        zk.create(path, data.encode())
found = zkclient.tree(address, 2181, timeout=20)
sys.stdout.write(json.dumps(dict((p, d.decode()) for p, d in found)))
"""
ONHOST_PARENT = str(Path(__file__).resolve().parents[2] / "bundler")


def znodes(host: Host, address: str, create: dict[str, str] | None = None) -> dict[str, str]:
    """Every znode the ensemble serves through address (data as text), after creating
    `create` through it."""
    code = [ONHOST_PARENT, address, json.dumps(create or {})]
    done = host.run("/usr/bin/python3", "-c", ZNODES, *code, timeout=120)
    assert done.returncode == 0, done.stderr
    found: dict[str, str] = json.loads(done.stdout)
    return found
