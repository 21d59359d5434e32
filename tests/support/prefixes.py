"""A prefix laid out as the installer leaves it (three written files, one a secret, their
pristine copies and the install record; no services), and check.py's report on it, for the
check tests of both tiers."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from bundler.onhost.host import pristine
from bundler.onhost.operate import check

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
