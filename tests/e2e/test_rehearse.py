"""`bundler rehearse` of the sealed bundle: a single-node one and a three-host cluster one.

Root only (network namespaces, service users); run under the machine-wide e2e lock. Each run
must exit 0 with every host healthy and leave nothing behind: no namespace, no service user,
no folder, no process, each checked from what the command says it made.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.support.bundles import build_bundle
from tests.support.inventories import cluster_toml, ensemble, host_tables

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("unshare") is None,
    reason="needs root, ip and unshare (network namespaces, service users)",
)

ROOT = Path(__file__).resolve().parents[2]

TRIO = cluster_toml(
    host_tables(
        ensemble(
            ["zk-a", "zk-b", "zk-c"],
            ["10.77.13.1", "10.77.13.2", "10.77.13.3"],
            {"zk-c": {"slots": [6700, 6701]}},
        )
    ),
    name="rehearsed",
    storm="2.6.4",
    zookeeper="3.8.4",
)


def rehearse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bundler", "rehearse", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1500,
        check=False,
    )


def made(err: str) -> tuple[str, Path, list[str]]:
    """The namespace tag, folder and users the run says it made."""
    found = re.search(r"namespaces (\S+)-\*, folder (\S+), users ([^;]+);", err)
    assert found, err
    return found.group(1), Path(found.group(2)), found.group(3).split(", ")


def assert_nothing_left(err: str) -> None:
    tag, folder, users = made(err)
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert not [line for line in netns.stdout.splitlines() if line.startswith(f"{tag}-")]
    for user in users:
        assert subprocess.run(["id", user], capture_output=True, check=False).returncode == 1
    assert not folder.exists()
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if int(pid) != os.getpid():
            assert str(folder).encode() not in cmdline, (pid, cmdline)


def test_single_node_bundle(mirror_dir: Path, wheelhouse: Path) -> None:
    proc = rehearse(str(build_bundle(mirror_dir, wheelhouse)), "--smoke")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "files verified; matches storm-2.6.4-zk-3.8.4.tar.sha256" in proc.stderr
    assert "hosts all (lo only)" in proc.stderr
    assert proc.stdout.startswith("== all (lo only): healthy; stormctl status\n")
    for program in ("zookeeper", "storm-nimbus", "storm-supervisor", "storm-ui"):
        assert re.search(rf"^ *{program} +RUNNING +pid \d+", proc.stdout, re.M), proc.stdout
    # --smoke: the bundle's example topology ran on Apache's Storm there and acked tuples.
    assert "== stormctl smoke on all: exit 0\n" in proc.stdout
    assert "smoke: passed: org.apache.storm.starter.ExclamationTopology" in proc.stdout
    assert re.search(r"^rehearsal healthy: 1 host\(s\) in \d+\.\ds \(", proc.stdout, re.M)
    print(proc.stdout.splitlines()[-1])
    assert_nothing_left(proc.stderr)


def test_three_host_cluster_bundle(mirror_dir: Path, wheelhouse: Path, tmp_path: Path) -> None:
    toml = tmp_path / "cluster.toml"
    toml.write_text(TRIO)
    proc = rehearse(str(build_bundle(mirror_dir, wheelhouse, cluster=toml)))
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "hosts zk-a (10.77.13.1), zk-b (10.77.13.2), zk-c (10.77.13.3)" in proc.stderr
    blocks = proc.stdout.split("== ")[1:]
    assert [b.split(" ", 1)[0] for b in blocks] == ["zk-a", "zk-b", "zk-c"]
    for block, programs in zip(
        blocks,
        (["storm-nimbus", "storm-ui", "zookeeper"], ["storm-supervisor", "zookeeper"],
         ["storm-supervisor", "zookeeper"]),
        strict=True,
    ):  # fmt: skip
        assert ": healthy; stormctl status" in block.splitlines()[0]
        # The programs, indented under supervisord's own line.
        listed = [
            line.split()[0]
            for line in block.splitlines()[1:]
            if "RUNNING" in line and line.startswith("  ")
        ]
        assert sorted(listed) == programs, block
    assert re.search(r"^rehearsal healthy: 3 host\(s\) in \d+\.\ds ", proc.stdout, re.M)
    print(proc.stdout.splitlines()[-1])
    assert_nothing_left(proc.stderr)


def test_unknown_host_is_refused_and_nothing_is_left(
    mirror_dir: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    toml = tmp_path / "cluster.toml"
    toml.write_text(TRIO)
    before = set(Path("/tmp").glob("bundler-rehearse-*"))
    proc = rehearse(str(build_bundle(mirror_dir, wheelhouse, cluster=toml)), "--host", "zk-z")
    assert proc.returncode == 2, proc
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        "bundler: error: --host zk-z: no such host in the bundle's inventory; its hosts are "
        "zk-a, zk-b, zk-c"
    )
    assert set(Path("/tmp").glob("bundler-rehearse-*")) <= before


def test_a_tampered_bundle_is_refused_before_anything_is_made(
    mirror_dir: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "b.tar"
    shutil.copy(build_bundle(mirror_dir, wheelhouse), bundle)
    with tarfile.open(bundle) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/install.sh"))
    data = bytearray(bundle.read_bytes())
    data[member.offset_data] ^= 1
    bundle.write_bytes(bytes(data))
    proc = rehearse(str(bundle))
    assert proc.returncode == 3, proc
    assert "namespaces" not in proc.stderr
