"""check.py and pristine.py on a prefix laid out as the installer leaves it (no services: the
live part is tests/test_check_e2e.py). What changed is shown as a diff, a secret never is, a
hand edit's control characters reach no terminal."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import shutil
import socketserver
import subprocess
import threading
from pathlib import Path

import pytest

from bundler.onhost.host import pristine
from bundler.onhost.operate import check, liveness
from tests.support.bundles import pyenv_python

TARGET = Path(__file__).resolve().parents[2] / "bundler" / "onhost"

CONF = b"[supervisord]\npidfile=/x\n\n[inet_http_server]\nport=127.0.0.1:9001\npassword={SHA}abc\n"
FILES = {
    "etc/zookeeper/zoo.cfg": (b"# header\ntickTime=2000\nclientPort=2181\n", 0o644),
    "etc/supervisord.conf": (CONF, 0o600),
    "etc/web-password": (b"s3cret-pass\n", 0o600),
}


def write_file(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def installed(prefix: Path) -> Path:
    for rel, (data, mode) in FILES.items():
        write_file(prefix / rel, data, mode)
    state = {
        "prefix": str(prefix),
        "bundle": {"name": "storm-x-zk-y", "id": "0" * 64},
        "files": {rel: hashlib.sha256(d).hexdigest() for rel, (d, _) in FILES.items()},
        "programs": {"zookeeper": "meaning-1:0"},
        "socket": str(prefix / "run" / "none.sock"),
        "values": {"roles": [], "zk_servers": ["127.0.0.1"], "zk_ports": {"client": 1}},
    }
    write_file(prefix / "state" / "installed.json", json.dumps(state).encode(), 0o600)
    pristine.save(
        str(prefix),
        [(rel, d, m) for rel, (d, m) in FILES.items()],
        lambda path, data, mode: write_file(Path(path), data, mode),
    )
    return prefix


def report(prefix: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = check.run_check(str(prefix), out)
    return code, out.getvalue()


def test_copies_are_kept_with_their_modes_but_never_the_secret(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    copy = tmp_path / "state" / "written" / "etc" / "supervisord.conf"
    assert copy.read_bytes() == CONF and copy.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "state" / "written" / "etc" / "web-password").exists()
    # A file no longer written loses its copy; an emptied folder goes too.
    pristine.save(str(prefix), [("etc/supervisord.conf", CONF, 0o600)], lambda p, d, m: None)
    assert not (tmp_path / "state" / "written" / "etc" / "zookeeper").exists()
    assert copy.exists()


def test_files_as_written_and_no_supervisord(tmp_path: Path) -> None:
    code, out = report(installed(tmp_path))
    assert code == 5
    assert "files: 3 of 3 as written" in out
    assert "NOT ANSWERING" in out and out.endswith("problem(s): supervisord not answering\n")


def test_hand_edits_are_a_diff_a_secret_is_only_named(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    zoo = prefix / "etc" / "zookeeper" / "zoo.cfg"
    zoo.write_bytes(zoo.read_bytes().replace(b"2000", b"3000") + b"evil=\x1b[2J\n")
    conf = prefix / "etc" / "supervisord.conf"
    conf.write_bytes(CONF.replace(b"{SHA}abc", b"{SHA}def"))
    (prefix / "etc" / "web-password").write_bytes(b"other-pass\n")
    code, out = report(prefix)
    assert code == 5
    assert "files: 0 of 3 as written" in out
    assert "changed: etc/zookeeper/zoo.cfg, by hand (- as written, + on disk):" in out
    assert "    -tickTime=2000\n    +tickTime=3000\n" in out
    assert "    +evil=\\x1b[2J\n" in out and "\x1b" not in out
    assert "password=(hidden)" in out and "abc" not in out and "def" not in out
    assert "changed: etc/web-password (a secret: not shown)" in out
    assert "pass" not in out.replace("password", "")


def test_missing_files_and_a_changed_mode(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    (prefix / "etc" / "zookeeper" / "zoo.cfg").unlink()
    (prefix / "etc" / "supervisord.conf").chmod(0o644)
    (prefix / "etc" / "web-password").chmod(0o644)
    code, out = report(prefix)
    assert code == 5
    assert "files: 0 of 3 as written" in out
    assert "missing: etc/zookeeper/zoo.cfg" in out
    assert "changed: etc/supervisord.conf mode 0644, written 0600" in out
    assert "changed: etc/web-password mode 0644, written 0600" in out
    assert "changed: etc/web-password (" not in out  # its content is as recorded
    for said in ("etc/supervisord.conf mode changed", "etc/web-password mode changed"):
        assert said in out.splitlines()[-1]


def test_a_file_without_a_copy_is_compared_by_its_recorded_sha256(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    pristine.remove(str(prefix))
    assert "files: 3 of 3 as written" in report(prefix)[1]
    (prefix / "etc" / "zookeeper" / "zoo.cfg").write_bytes(b"tickTime=1\n")
    code, out = report(prefix)
    assert code == 5
    assert "changed: etc/zookeeper/zoo.cfg (no copy to diff)" in out


def test_nothing_installed(tmp_path: Path) -> None:
    code, out = report(tmp_path)
    assert (code, out) == (5, f"check: nothing installed at {tmp_path}\n")
    assert not os.listdir(tmp_path)


def test_same_report_on_every_target_python(tmp_path: Path) -> None:
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
    for version in ("2.7", "3.6", "3.13"):
        try:
            python = pyenv_python(version)
        except pytest.skip.Exception:
            continue
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
    assert check.probes(ports, roles) == {"storm-nimbus": ["tcp", 6627], "storm-ui": ["http", 8080]}
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


def test_an_install_with_no_start_is_checked_for_drift_only(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    record = prefix / "state" / "installed.json"
    record.write_text(record.read_text().replace('{"zookeeper": "meaning-1:0"}', "{}"))
    code, out = report(prefix)
    assert code == 0, out
    assert "programs: none started here yet (--no-start): health not checked" in out
    assert "supervisord" not in out and out.endswith("check: all well\n")
    (prefix / "etc" / "zookeeper" / "zoo.cfg").write_bytes(b"tickTime=1\n")
    assert report(prefix)[0] == 5
