"""Tests of the test infrastructure that start nothing: the hostile tarball the mirror builder
writes, and the Storm stand-in launcher's YAML subset (the stand-in mirror, its servers and the
stand-ins running: tests/integration/test_mirror_infra.py)."""

from __future__ import annotations

import importlib.util
import tarfile
import types
from pathlib import Path

from tests.support import make_mirror
from tests.support.archive_members import tar_members


def test_evil_tarball_keeps_names_verbatim(tmp_path: Path) -> None:
    names = ["../escape.txt", "/etc/evil", "top/../../x", "top/out/through-link"]
    path = make_mirror.evil_tarball(
        tmp_path / "evil.tar.gz", "top", names, symlinks={"top/out": "/tmp"}
    )
    found = tar_members(path)
    assert set(names) <= set(found)
    assert found["top/out"].issym() and found["top/out"].linkname == "/tmp"
    with tarfile.open(path) as tar:
        assert [m.name for m in tar.getmembers()][-len(names) :] == names


def load_launcher() -> types.ModuleType:
    path = make_mirror.STANDIN_DIR / "storm" / "storm.py"
    spec = importlib.util.spec_from_file_location("standin_storm_launcher", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launcher_yaml_subset() -> None:
    parse_yaml = load_launcher().parse_yaml
    text = """\
# comment
storm.zookeeper.servers:
    - "zk1"
    - 'zk2'
nimbus.seeds : ["a", "b"]   # trailing comment
nimbus.thrift.port: 6627
worker.childopts: "-Xmx%HEAP-MEM%m -XX:+PrintGCDetails # not a comment"
java.library.path: /usr/local/lib:/opt/local/lib
topology.enable.message.timeouts: true
storm.auth.simple-white-list.users: []
topology.kryo.register:
    - org.mycompany.MyType2: org.mycompany.MyType2Serializer
worker.metrics:
    "CGroupMemory": "org.apache.storm.metrics2.cgroup.CGroupMemoryUsage"
drpc.port: 3772
ui.filter: null
"""
    assert parse_yaml(text) == {
        "storm.zookeeper.servers": ["zk1", "zk2"],
        "nimbus.seeds": ["a", "b"],
        "nimbus.thrift.port": 6627,
        "worker.childopts": "-Xmx%HEAP-MEM%m -XX:+PrintGCDetails # not a comment",
        "java.library.path": "/usr/local/lib:/opt/local/lib",
        "topology.enable.message.timeouts": True,
        "storm.auth.simple-white-list.users": [],
        "topology.kryo.register": [{"org.mycompany.MyType2": "org.mycompany.MyType2Serializer"}],
        "worker.metrics": {"CGroupMemory": "org.apache.storm.metrics2.cgroup.CGroupMemoryUsage"},
        "drpc.port": 3772,
        "ui.filter": None,
    }
    for version in ("0.9.5", "2.6.4"):
        defaults = parse_yaml(make_mirror.storm_defaults_file(version).read_text())
        assert defaults["nimbus.thrift.port"] == 6627
        assert defaults["supervisor.slots.ports"] == [6700, 6701, 6702, 6703]
