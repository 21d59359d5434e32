"""ZooKeeper asked from inside a host's network namespace, through the installer's own client
(bundler.onhost.host.health) run by the host's python3 from the repository root: one
four-letter word or `srvr` Mode, and a probe that asks every member `srvr` every half second,
with the runs of samples without two serving members and one leader (quorum gaps)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # netns.py imports this module
    from tests.support.netns import Host

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"

# health's function argv[1] with (address, port, the rest): what it said, '' for nothing.
ASK = """
import sys
from bundler.onhost.host import health
try:
    said = getattr(health, sys.argv[1])(sys.argv[2], int(sys.argv[3]), *sys.argv[4:])
except OSError:
    said = None
sys.stdout.write(said or "")
"""

# Asks every member `srvr` every half second; one JSON line of modes per sample.
PROBE = """
import json, sys, time
from bundler.onhost.host import health
hosts = sys.argv[1:]
while True:
    start = time.time()
    modes = [health.zookeeper_mode_or_none(h, 2181, 0.4) for h in hosts]
    sys.stdout.write(json.dumps(modes) + "\\n")
    sys.stdout.flush()
    time.sleep(max(0.0, 0.5 - (time.time() - start)))
"""


def _ask(enter: list[str], what: str, address: str, port: int, *rest: str) -> str:
    """health.<what>(address, port, *rest) inside the namespace `enter` goes into."""
    cmd = [*enter, PYTHON, "-c", ASK, what, address, str(port), *rest]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout


def four_letter(enter: list[str], word: str, address: str = "127.0.0.1", port: int = 2181) -> str:
    """ZooKeeper's answer to a four-letter word ('' when nothing answers)."""
    return _ask(enter, "four_letter", address, port, word)


def zk_mode(enter: list[str], address: str = "127.0.0.1", port: int = 2181) -> str | None:
    """The member's `srvr` Mode, None while it does not serve or answer."""
    return _ask(enter, "zookeeper_mode", address, port) or None


class Probe:
    """The probe process inside one host's namespace, and the samples it reported."""

    def __init__(self, host: Host, members: list[Host], addresses: list[str] | None = None) -> None:
        """Asks members at their addresses (or at the given ones: a standalone server on
        127.0.0.1)."""
        asked = addresses or [m.address for m in members]
        cmd = host.exec_cmd(PYTHON, "-u", "-c", PROBE, *asked)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
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
        """A majority serving with one leader; a single server serving on its own."""
        if len(sample) == 1:
            return sample[0] == "standalone"
        serving = [m for m in sample if m in ("leader", "follower")]
        return len(serving) > len(sample) // 2 and serving.count("leader") == 1

    def gaps(self, start: int = 0) -> list[int]:
        """Lengths of the runs of samples without a serving majority and one leader."""
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
import hashlib, json, sys
from bundler.onhost.host import zkclient
address, wanted, bulk = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
with zkclient.Session(address, 2181, timeout=20) as zk:
    for path, data in wanted.items():
        zk.create(path, data.encode())
    for path, size in bulk:
        zk.create(path, (path * (size // len(path) + 1))[:size].encode())
def shown(data):
    # Long data, and what is not text (Storm's own znodes hold Thrift, gzipped in 1.x), by hash.
    try:
        text = data.decode()
    except UnicodeDecodeError:
        text = None
    if text is None or len(data) > 1000:
        return "sha256:" + hashlib.sha256(data).hexdigest()
    return text
found = zkclient.tree(address, 2181, timeout=20)
sys.stdout.write(json.dumps(dict((p, shown(d)) for p, d in found)))
"""


def bulk_value(path: str, size: int) -> str:
    """How znodes() shows the data it writes for a bulk znode of size bytes."""
    data = (path * (size // len(path) + 1))[:size].encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def znodes(
    host: Host,
    address: str,
    create: dict[str, str] | None = None,
    bulk: Sequence[tuple[str, int]] = (),
) -> dict[str, str]:
    """Every znode the ensemble serves through address (data as text, or the sha256 of data
    over 1000 bytes), after creating `create`, then the bulk znodes (path, size) through it."""
    code = [address, json.dumps(create or {}), json.dumps(list(bulk))]
    cmd = host.exec_cmd("/usr/bin/python3", "-c", ZNODES, *code)
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    found: dict[str, str] = json.loads(done.stdout)
    return found
