"""`install.sh --check` on an installed host (root, under dash, in a network namespace): all well
is exit 0 with the same output twice; hand edits of storm.yaml and zoo.cfg (a diff each), a
changed web password (named, never shown), a missing file and a stopped program are each
reported, exit 5; a re-run of the install repairs them all."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.support.bundles import node, pyenv_python

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("dash") is None,
    reason="needs root, unshare and dash (network namespaces, service users)",
)

ROLES = "zookeeper,nimbus,supervisor"


def test_check_reports_hand_edits_missing_files_and_stopped_programs(bundle_dir: Path) -> None:
    user = f"bck{os.getpid() % 100000}{int(time.time() * 1000) % 1000}"
    with node(bundle_dir, python=pyenv_python("3.13"), users=[user]) as n:
        installed = n.install("--role", ROLES, "--user", user)
        assert installed.code == 0, installed

        well = n.install("--check")
        assert well.code == 0, well
        lines = well.out.splitlines()
        assert lines[-2:] == ["check: all well", "install.sh: unchanged"], well
        assert any(line.startswith("files: ") and " as written" in line for line in lines)
        for program in ("zookeeper", "storm-nimbus", "storm-supervisor"):
            assert any(line.startswith(f"{program} ") and "RUNNING" in line for line in lines)
        assert "srvr Mode: standalone" in well.out
        assert any(
            line.startswith("storm-nimbus ") and line.endswith(" port 6627 open") for line in lines
        ), well
        assert "ZooKeeper quorum  ok: 1 of 1 serving, 1 needed; leader 127.0.0.1" in well.out
        assert n.install("--check").out == well.out  # stable

        etc = n.prefix / "etc"
        zoo_cfg = etc / "zookeeper" / "zoo.cfg"
        zoo_cfg.write_text(zoo_cfg.read_text().replace("tickTime=2000", "tickTime=3000"))
        with (etc / "storm" / "storm.yaml").open("a") as handle:
            handle.write("topology.workers: 7\n")
        secret = "not-the-generated-one-" + user
        (etc / "web-password").write_text(secret + "\n")
        (n.prefix / "bin" / "stormctl").unlink()
        n.rpc().supervisor.stopProcess("storm-supervisor", True)

        drift = n.install("--check")
        assert drift.code == 5, drift
        out = drift.out
        assert "changed: etc/zookeeper/zoo.cfg, by hand (- as written, + on disk):" in out
        assert "    -tickTime=2000\n    +tickTime=3000\n" in out
        assert "changed: etc/storm/storm.yaml, by hand" in out
        assert "    +topology.workers: 7\n" in out
        assert "changed: etc/web-password (a secret: not shown)" in out
        assert secret not in out + drift.err
        assert "missing: bin/stormctl" in out
        assert any(
            line.startswith("storm-supervisor ") and "STOPPED" in line for line in out.splitlines()
        ), out
        last = out.splitlines()[-2]
        assert last.startswith("check: 5 problem(s): "), out
        for said in ("zoo.cfg changed", "storm.yaml changed", "web-password changed"):
            assert said in last
        assert "bin/stormctl missing" in last and "storm-supervisor STOPPED" in last

        repaired = n.install("--role", ROLES, "--user", user)
        assert repaired.code == 0, repaired
        again = n.install("--check")
        assert again.code == 0, again
        assert again.out.splitlines()[-2] == "check: all well", again

        gone = n.run("--uninstall", "--prefix", str(n.prefix))
        assert gone.code == 0, gone
        assert not (n.prefix / "state" / "written").exists()
