"""check.py on every target Python, and asking services over real sockets on 127.0.0.x: the
Storm daemons' ports, and the ZooKeeper ensemble's quorum and leader (the report on a prefix
alone: tests/unit/test_check.py)."""

from __future__ import annotations

import http.server
import shutil
import socketserver
import subprocess
import threading
from pathlib import Path

import pytest

from bundler.onhost.apply import record
from bundler.onhost.operate import check, liveness
from tests.support.bundles import pyenv_python
from tests.support.prefixes import installed, report

TARGET = Path(__file__).resolve().parents[2] / "bundler" / "onhost"


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.13"])
def test_same_report_on_every_target_python(tmp_path: Path, version: str) -> None:
    python = pyenv_python(version)  # skipped, saying so, where this Python is missing
    prefix = installed(tmp_path / "prefix")
    zoo = prefix / "etc" / "zookeeper" / "zoo.cfg"
    zoo.write_bytes(zoo.read_bytes().replace(b"2000", "3000 \u00e9\u2603".encode()))
    expected = report(prefix)
    package = tmp_path / "pkg"
    shutil.copytree(TARGET, package / "onhost")
    script = (
        "import sys\nsys.path.insert(0, sys.argv[1])\nfrom onhost.operate import check\n"
        "sys.exit(check.run_check(sys.argv[2]))\n"
    )
    proc = subprocess.run(
        [str(python), "-E", "-S", "-B", "-c", script, str(package), str(prefix)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == expected, (version, proc.stderr)


def test_storm_daemons_are_asked_on_their_ports() -> None:
    ports = {"nimbus.thrift.port": 6627, "ui.port": 8080, "drpc.port": 3772}
    roles = {"storm-nimbus": "nimbus", "storm-ui": "ui", "storm-supervisor": "supervisor"}
    assert record.probes(ports, roles) == {
        "storm-nimbus": ["tcp", 6627],
        "storm-ui": ["http", 8080],
    }
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert liveness.answers(["tcp", port]) == (True, f"port {port} open")
        ok, said = liveness.answers(["http", port])
        assert ok and said.startswith("HTTP ") and said.endswith(f" on port {port}")
    finally:
        server.shutdown()
        server.server_close()
    assert liveness.answers(["tcp", port]) == (False, f"port {port} not answering")
    assert liveness.answers(["http", port]) == (False, f"no HTTP answer on port {port}")


class Srvr(socketserver.BaseRequestHandler):
    """Answers `srvr` as a ZooKeeper member in the mode its server was given."""

    def handle(self) -> None:
        self.request.recv(4)
        mode = self.server.mode  # type: ignore[attr-defined]
        self.request.sendall(f"Zookeeper version: 3.8.4\nMode: {mode}\n".encode())


def test_the_ensemble_quorum_and_its_leader() -> None:
    servers = []
    port = 0
    try:
        for address, mode in (("127.0.0.2", "leader"), ("127.0.0.3", "follower")):
            server = socketserver.TCPServer((address, port), Srvr)
            server.mode = mode  # type: ignore[attr-defined]
            port = server.server_address[1]
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        state = {
            "values": {
                "roles": ["supervisor"],
                "zk_servers": ["127.0.0.2", "127.0.0.3", "127.0.0.4"],
                "zk_ports": {"client": port},
            }
        }
        lines, problems = check.ensemble_report(state)
        assert problems == [], lines
        assert lines[0].startswith(
            "ZooKeeper quorum  ok: 2 of 3 serving, 2 needed; leader 127.0.0.2"
        )
        assert f"127.0.0.4:{port} not serving" in lines[0]
        # What the Ansible project's quorum waits read from `stormctl status --json`.
        found = liveness.ensemble(state)
        assert found is not None and found["leaders"] == ["127.0.0.2"] and found["quorum"]
        assert [(m["host"], m["serving"]) for m in found["members"]] == [
            ("127.0.0.2", True), ("127.0.0.3", True), ("127.0.0.4", False)
        ]  # fmt: skip
        servers[0].mode = "looking"  # type: ignore[attr-defined]
        lines, problems = check.ensemble_report(state)
        assert problems == ["no ZooKeeper quorum"], lines
        assert "LOST: 1 of 3 serving, 2 needed; leader none" in lines[0]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
