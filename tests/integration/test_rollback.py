"""`stormctl rollback` and `stormctl status` on a real prefix, run as the host runs them: the
package copied into PREFIX/lib/onhost and started with `python -E -S -B -m onhost.stormctl`,
on Python 3 and 2.7. No supervisord runs here: the restart and health paths are the cluster
test's (test_upgrade_e2e.py); this one proves what is restored, and that a second run finds
nothing to roll back."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bundler.onhost.apply import datacopy, selfcopy
from bundler.onhost.host.state import state_bytes
from tests.support.bundles import pyenv_python

ROOT = Path(__file__).resolve().parents[2]
# This interpreter, and the oldest a host may have (skipped, saying so, where it is missing).
PYTHONS = ["this", "2.7"]


def interpreter(version: str) -> str:
    return sys.executable if version == "this" else str(pyenv_python(version))


def record(prefix: Path, bundle: str, zk: str, line: str, files: dict[str, str]) -> dict[str, Any]:
    return {
        "schema": 1,
        "prefix": str(prefix),
        "bundle": {"name": bundle, "id": bundle[:1] * 64},
        "components": {
            "storm": {"version": "1.2.4", "line": "1.2", "top": "apache-storm-1.2.4"},
            "zookeeper": {"version": zk, "line": line, "top": f"zk-{zk}"},
        },
        "roles": ["zookeeper"],
        "values": {"zk_servers": ["127.0.0.1"], "zk_ports": {"client": 1}, "host": "127.0.0.1"},
        "socket": str(prefix / "run" / "supervisord.sock"),
        "files": {rel: "0" * 64 for rel in files},
        "links": ["zookeeper"],
        "releases": [f"zk-{zk}"],
        "programs": {"zookeeper": zk},
        "created": [""],
    }


@pytest.fixture
def upgraded(tmp_path: Path) -> Path:
    """A prefix that an upgrade from bundle a (ZooKeeper 3.4.14) to b (3.8.4) left."""
    prefix = tmp_path / "storm"
    for rel in ("etc/zookeeper", "state/previous/files/etc/zookeeper", "releases", "run"):
        (prefix / rel).mkdir(parents=True, exist_ok=True)
    for rel, data in selfcopy.package_files(str(ROOT / "bundler" / "onhost")).items():
        path = prefix / "lib" / "onhost" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (prefix / "etc" / "zookeeper" / "zoo.cfg").write_text("new\n")
    (prefix / "etc" / "zookeeper" / "only-new.cfg").write_text("new only\n")
    (prefix / "zookeeper").symlink_to("releases/zk-3.8.4")
    # A module and a stage folder of the upgrade's package that the previous one did not have.
    (prefix / "lib" / "onhost" / "x.py").write_text("")
    (prefix / "lib" / "onhost" / "stage").mkdir()
    (prefix / "lib" / "onhost" / "stage" / "y.py").write_text("")
    new_files = {"etc/zookeeper/zoo.cfg": "", "etc/zookeeper/only-new.cfg": ""}
    new_files.update({"lib/onhost/x.py": "", "lib/onhost/stage/y.py": ""})
    cur = record(prefix, "b", "3.8.4", "3.8", new_files)
    cur["releases"] = ["zk-3.4.14", "zk-3.8.4"]
    (prefix / "state" / "installed.json").write_bytes(state_bytes(cur))
    kept = prefix / "state" / "previous"
    old = record(prefix, "a", "3.4.14", "3.4", {"etc/zookeeper/zoo.cfg": ""})
    (kept / "installed.json").write_bytes(state_bytes(old))
    (kept / "links.json").write_text(json.dumps({"zookeeper": "releases/zk-3.4.14"}))
    copy = kept / "files" / "etc" / "zookeeper" / "zoo.cfg"
    copy.write_text("old\n")
    copy.chmod(0o640)
    return prefix


def stormctl(prefix: Path, python: str, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-E", "-S", "-B", "-m", "onhost.stormctl", *words],
        cwd=prefix / "lib",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": os.environ["PATH"]},
    )


@pytest.mark.parametrize("version", PYTHONS)
def test_rollback_restores_files_links_and_record_once(upgraded: Path, version: str) -> None:
    python = interpreter(version)
    prefix = upgraded
    status = stormctl(prefix, python, "status")
    assert status.returncode == 5, status  # supervisord does not answer here
    assert "installed: b (id " in status.stdout
    assert "versions:  storm 1.2.4, zookeeper 3.8.4" in status.stdout
    assert f"previous:  a (storm 1.2.4, zookeeper 3.4.14), kept in {prefix}/state/previous" in (
        status.stdout
    )

    done = stormctl(prefix, python, "rollback")
    assert done.returncode == 0, done
    assert "roll back b (storm 1.2.4, zookeeper 3.8.4) to a (storm 1.2.4, zookeeper 3.4.14)" in (
        done.stderr
    )
    # Going back a ZooKeeper line: said plainly, with where the copy would be.
    assert "to the older line 3.4 (3.4.14)" in done.stderr
    said = f"no usable copy of its data from before the upgrade is there ({prefix}/data/zookeeper."
    assert said in done.stderr
    assert "supervisord does not run: nothing restarted" in done.stdout
    assert all(line.startswith("stormctl rollback: ") for line in done.stderr.splitlines())
    zoo = prefix / "etc" / "zookeeper" / "zoo.cfg"
    assert zoo.read_text() == "old\n" and stat.S_IMODE(zoo.stat().st_mode) == 0o640
    assert not (prefix / "etc" / "zookeeper" / "only-new.cfg").exists()
    assert os.readlink(prefix / "zookeeper") == "releases/zk-3.4.14"
    restored = json.loads((prefix / "state" / "installed.json").read_text())
    assert restored["bundle"]["name"] == "a"
    assert restored["components"]["zookeeper"]["version"] == "3.4.14"
    # The newer release stays recorded (uninstall removes it). The upgrade's own package files
    # go: a stage folder left beside the previous package would shadow its modules.
    assert restored["releases"] == ["zk-3.4.14", "zk-3.8.4"]
    assert sorted(restored["files"]) == ["etc/zookeeper/zoo.cfg"]
    assert not (prefix / "lib" / "onhost" / "x.py").exists()
    assert not (prefix / "lib" / "onhost" / "stage").exists()
    assert not (prefix / "state" / "previous").exists()

    again = stormctl(prefix, python, "rollback")
    assert again.returncode == 0, again
    assert "nothing to roll back: no previous install is kept in" in again.stderr
    assert json.loads((prefix / "state" / "installed.json").read_text()) == restored
    assert "previous:  none kept" in stormctl(prefix, python, "status").stdout


def test_stormctl_refuses_what_it_does_not_know(upgraded: Path) -> None:
    wrong = stormctl(upgraded, sys.executable, "rollforward")
    assert wrong.returncode == 2
    assert wrong.stderr == (
        "stormctl: expected one of check, ports, rollback, smoke, status, found rollforward\n"
    )
    extra = stormctl(upgraded, sys.executable, "rollback", "--now")
    assert extra.returncode == 2
    assert "expected [--timeout SECONDS] [--allow-major-rollback], found --now" in extra.stderr
    assert (upgraded / "state" / "previous" / "installed.json").is_file()


def test_going_back_a_zookeeper_line_says_how_to_return_to_the_copy(upgraded: Path) -> None:
    prefix = upgraded
    copy = prefix / "data" / "zookeeper.before-3.8.4"
    data = prefix / "data" / "zookeeper"
    (data / "version-2").mkdir(parents=True, exist_ok=True)
    (data / "version-2" / "snapshot.0").write_bytes(b"zk")
    datacopy.take(str(data), str(copy), {"release": "3.4.14", "zxid": "0x0"})
    shutil.rmtree(data)
    done = stormctl(prefix, sys.executable, "rollback")
    assert done.returncode == 0, done
    assert "The data folder stays as it is, this is not guessed further" in done.stderr
    assert (
        f"{prefix}/bin/stormctl stop zookeeper; mv {prefix}/data/zookeeper "
        f"{prefix}/data/zookeeper.after-3.8.4; cp -a {copy} {prefix}/data/zookeeper; "
        f"rm -f {prefix}/data/zookeeper/copy-manifest.json; {prefix}/bin/stormctl start zookeeper"
    ) in done.stderr
    assert "the copy taken before the upgrade matches its manifest (ZooKeeper 3.4.14 data, " in (
        done.stderr
    )
    assert copy.is_dir() and not (prefix / "data" / "zookeeper").exists()  # nothing swapped


def test_going_back_a_major_storm_line_needs_saying_so(upgraded: Path) -> None:
    record = json.loads((upgraded / "state" / "installed.json").read_text())
    record["components"]["storm"]["upgrade_group"] = "2.x"
    (upgraded / "state" / "installed.json").write_bytes(state_bytes(record))
    kept = upgraded / "state" / "previous" / "installed.json"
    old = json.loads(kept.read_text())
    old["components"]["storm"]["upgrade_group"] = "1.x"
    kept.write_bytes(state_bytes(old))
    refused = stormctl(upgraded, sys.executable, "rollback")
    assert refused.returncode == 2, refused
    assert refused.stderr == (
        "stormctl rollback: error: Storm 2.x -> 1.x goes back across a major line, which cannot "
        "be done host by host either; follow the stop-the-world procedure "
        "(docs/howto/upgrade-and-rollback.md, 'Upgrades: major Storm lines'), then run again "
        "with --allow-major-rollback\n"
    )
    assert kept.is_file() and (upgraded / "etc" / "zookeeper" / "zoo.cfg").read_text() == "new\n"
    done = stormctl(upgraded, sys.executable, "rollback", "--allow-major-rollback")
    assert done.returncode == 0, done
    assert not kept.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts a small tmpfs)")
def test_a_full_disk_stops_the_rollback_with_one_line_and_a_rerun_finishes_it(
    upgraded: Path,
) -> None:
    prefix = upgraded
    etc = prefix / "etc" / "zookeeper"
    kept = {p.name: p.read_bytes() for p in etc.iterdir()}
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(etc)], check=True)
    try:
        for name, data in kept.items():
            (etc / name).write_bytes(data)
        filler = etc / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        with contextlib.suppress(OSError):  # every block of that filesystem, taken
            while True:
                os.write(fd, b"x" * 4096)
        os.close(fd)
        done = stormctl(prefix, sys.executable, "rollback")
        assert done.returncode == 4, done
        assert "Traceback" not in done.stderr
        (said,) = [line for line in done.stderr.splitlines() if "error:" in line]
        assert said.startswith("stormctl rollback: error: the rollback stopped: no space left for ")
        assert said.endswith("fix: free space on that filesystem, then run `stormctl rollback` "
                             "again (it picks up where it stopped)")  # fmt: skip
        filler.unlink()
        again = stormctl(prefix, sys.executable, "rollback")
        assert again.returncode == 0, again
        assert (etc / "zoo.cfg").read_text() == "old\n"
    finally:
        subprocess.run(["umount", str(etc)], check=False)
