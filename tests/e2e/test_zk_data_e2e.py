"""ZooKeeper's data through upgrades and rollbacks of a standalone host, with Apache's own 3.4.14
and 3.8.4 jars, and the faults a data copy must survive.

A fresh 3.4 server writes no snapshot, so the upgrade first makes the old release write one
(zksnapshot.py). Then: the copy taken before the upgrade is complete and current or absent
(`kill -9` of the installer in the middle of it and just after it, then a re-run); upgrade ->
rollback -> new writes -> upgrade takes a new copy holding them; a folder under the copy's name
without a manifest is set aside, never used; a filesystem too small for the copy refuses the
upgrade before any change while ZooKeeper goes on serving. A probe asks `srvr` twice a second
throughout: the server is back after each run, never more than 30 samples (15 s) in a row
without serving (a run killed with ZooKeeper stopped leaves it so until the re-run has verified
its bundle, Java 11 included, and starts it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bundler.onhost.apply import datacopy
from tests.support.bundles import build_bundle, unpack
from tests.support.netns import Host, Network, wait_until
from tests.support.zkprobe import Probe, bulk_value, znodes

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("dash") is None,
    reason="needs root, ip and dash (network namespaces, service users)",
)

STORM, OLD, NEW = "1.2.4", "3.4.14", "3.8.4"
COPY = f"data/zookeeper.before-{NEW}"
# Big enough that the copy takes a while (ZooKeeper keeps each value in its log).
BULK = [(f"/bulk/n{i:03d}", 400_000) for i in range(60)]
BULK_SEEN = {path: bulk_value(path, size) for path, size in BULK}


def install(host: Host, bundle: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    flags = ["--role", "all", "--user", host.user, "--prefix", str(host.prefix)]
    done = host.install(bundle, *flags, *extra)
    return subprocess.CompletedProcess([], done.code, done.out, done.err)


def manifest(host: Host) -> dict[str, object]:
    data: dict[str, object] = json.loads((host.prefix / COPY / "copy-manifest.json").read_text())
    return data


def killed_at(host: Host, bundle: Path, ready: str) -> None:
    """install.sh --upgrade, killed (SIGKILL, its whole process group) once ready() names a
    path that exists: a power cut at that point of the upgrade."""
    flags = ["--role", "all", "--user", host.user, "--prefix", str(host.prefix), "--upgrade"]
    proc = subprocess.Popen(
        host.install_cmd(bundle, *flags), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            if [p for p in (host.prefix / "data").iterdir() if re.fullmatch(ready, p.name)]:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before the point to kill it at"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def copy_holds(host: Host, value: str) -> bool:
    """Whether a file of the copy holds value's bytes (a znode's data is in the log)."""
    wanted = value.encode()
    return any(wanted in p.read_bytes() for p in (host.prefix / COPY).rglob("*") if p.is_file())


def standalone(
    net: Network, tag: str, mirror_dir: Path, wheelhouse: Path, jre: Path
) -> tuple[Host, Path, Path]:
    """One host of its own, and bundles A (ZooKeeper 3.4.14) and B (3.8.4) unpacked, each
    with the Java 11 that Apache's Storm 1.2.4 needs (it cannot run on this machine's 17)."""
    host = net.add("z1", f"{tag}{os.getpid() % 100000}")
    a = unpack(build_bundle(mirror_dir, wheelhouse, STORM, OLD, jdk=jre), net.root / "a")
    b = unpack(build_bundle(mirror_dir, wheelhouse, STORM, NEW, jdk=jre), net.root / "b")
    return host, a, b


def zookeeper_as_installed(host: Host) -> tuple[str, bytes]:
    zoo = host.prefix / "etc" / "zookeeper" / "zoo.cfg"
    return os.readlink(host.prefix / "zookeeper"), zoo.read_bytes()


def test_standalone_upgrade_rollback_and_the_faults_of_its_data_copy(
    mirror_dir: Path, wheelhouse: Path, java11_jre: Path
) -> None:
    with Network("bzd", "10.231.64") as net:
        host, a, b = standalone(net, "bzd", mirror_dir, wheelhouse, java11_jre)
        first = install(host, a)
        assert first.returncode == 0, first
        znodes(host, "127.0.0.1", {"/kept": "before the upgrade", "/bulk": ""}, BULK)
        written = {"/kept": "before the upgrade", **BULK_SEEN}
        assert not list((host.prefix / "data" / "zookeeper" / "version-2").glob("snapshot.*"))
        probe = Probe(host, [host], ["127.0.0.1"])
        try:
            # A folder under the copy's name that is no copy of ours: set aside, never used.
            (host.prefix / COPY).mkdir()
            (host.prefix / COPY / "myid").write_text("9\n")

            # The copy fails once ZooKeeper has stopped (a file in its data that the service
            # user cannot read): the member is back on its old release and config, serving.
            blocker = host.prefix / "data" / "zookeeper" / "root-only"
            blocker.write_text("not the service user's\n")
            blocker.chmod(0o600)
            before = zookeeper_as_installed(host)
            failed = install(host, b, "--upgrade")
            assert failed.returncode == 1, failed
            assert "nothing of the copy is left and ZooKeeper runs its old release again" in (
                failed.stderr
            )
            assert zookeeper_as_installed(host) == before
            wait_until(lambda: host.zk_mode("127.0.0.1") == "standalone" or None, 60,
                       "ZooKeeper serving on its old release again")  # fmt: skip
            blocker.unlink()

            # Killed while copying (the re-run takes a fresh copy), and just after the copy is in
            # place (the re-run finds the upgrade recorded and the copy whole, or takes it anew):
            # either way the copy verifies and ZooKeeper serves once the run completes.
            killed_at(host, b, rf"zookeeper\.before-{re.escape(NEW)}\.partial-\d+")
            killed_at(host, b, rf"zookeeper\.before-{re.escape(NEW)}")
            done = install(host, b, "--upgrade")
            assert done.returncode == 0, done
            assert manifest(host)["release"] == OLD
            aside = [p.name for p in (host.prefix / "data").iterdir() if ".unverified-" in p.name]
            assert len(aside) == 1, aside
            assert (host.prefix / "data" / aside[0] / "myid").read_text() == "9\n"
            assert not [p for p in (host.prefix / "data").iterdir() if ".partial-" in p.name]
            assert datacopy.verify(str(host.prefix / COPY))[1] == []
            assert copy_holds(host, "before the upgrade")
            first_zxid = manifest(host)["zxid"]
            found = znodes(host, "127.0.0.1")
            assert {k: found.get(k) for k in written} == written

            status = host.run(str(host.prefix / "bin" / "stormctl"), "status", timeout=120)
            assert f"zookeeper data copy: {host.prefix / COPY}: ZooKeeper 3.4.14 data" in (
                status.stdout
            ), status.stdout

            # Back to 3.4, new writes, up again: the new copy holds them.
            back = host.run(str(host.prefix / "bin" / "stormctl"), "rollback", timeout=600)
            assert back.returncode == 0, back.stderr
            assert "the copy taken before the upgrade matches its manifest" in back.stderr
            found = znodes(host, "127.0.0.1", {"/after-rollback": "written on 3.4 again"})
            assert {k: found.get(k) for k in written} == written
            again = install(host, b, "--upgrade")
            assert again.returncode == 0, again
            assert copy_holds(host, "written on 3.4 again")
            assert manifest(host)["zxid"] != first_zxid
            found = znodes(host, "127.0.0.1")
            assert found.get("/after-rollback") == "written on 3.4 again"
        finally:
            probe.stop()
        gaps = probe.gaps()
        print(f"{len(probe.samples)} samples; gaps {gaps}")
        assert len(probe.samples) > 20
        assert max(gaps, default=0) <= 30 and Probe.healthy(probe.samples[-1])


def test_a_disk_too_small_for_the_copy_is_refused_before_any_change(
    mirror_dir: Path, wheelhouse: Path, java11_jre: Path
) -> None:
    with Network("bzs", "10.231.65") as net:
        host, a, b = standalone(net, "bzs", mirror_dir, wheelhouse, java11_jre)
        staged = install(host, a, "--no-start")
        assert staged.returncode == 0, staged
        # ZooKeeper's data on a filesystem of its own, 48 MB.
        data = host.prefix / "data"
        held = host.prefix / "data.disk"
        data.rename(held)
        data.mkdir(mode=0o755)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0755", "tmpfs", str(data)],
                       check=True)  # fmt: skip
        try:
            subprocess.run(["cp", "-a", f"{held}/.", str(data)], check=True)
            shutil.rmtree(held)
            started = install(host, a)
            assert started.returncode == 0, started
            znodes(host, "127.0.0.1", {"/bulk": ""}, BULK[:40])
            # What else is on that filesystem leaves less room than the data takes.
            used = sum(p.stat().st_blocks * 512 for p in data.rglob("*") if p.is_file())
            room = shutil.disk_usage(data).free
            filler = data / "filler"
            subprocess.run(["fallocate", "-l", str(room - used // 2), str(filler)], check=True)
            before = (os.readlink(host.prefix / "zookeeper"),
                      (host.prefix / "etc" / "zookeeper" / "zoo.cfg").read_bytes())  # fmt: skip
            probe = Probe(host, [host], ["127.0.0.1"])
            try:
                refused = install(host, b, "--upgrade")
            finally:
                time.sleep(2)
                probe.stop()
            assert refused.returncode == 4, refused
            assert "copying ZooKeeper's data" in refused.stderr
            assert f"on the filesystem of {data}" in refused.stderr
            assert "nothing was changed" in refused.stderr
            after = (os.readlink(host.prefix / "zookeeper"),
                     (host.prefix / "etc" / "zookeeper" / "zoo.cfg").read_bytes())  # fmt: skip
            assert after == before
            assert not (host.prefix / "state" / "previous").exists()
            assert host.zk_mode("127.0.0.1") == "standalone"
            assert all(Probe.healthy(s) for s in probe.samples), probe.samples
        finally:
            net.close()
            subprocess.run(["umount", "-l", str(data)], check=False)
