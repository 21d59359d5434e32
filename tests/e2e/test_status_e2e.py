"""`stormctl status` as scripts and monitors read it (root, under dash, in a network namespace):
exit 0 only while every program runs and answers and ZooKeeper serves in a quorum, 5 with one
program stopped and with a ZooKeeper member out of its ensemble's quorum; `--json` says the
same as one object, and each program's log files are named (and exist)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.bundles import Node, node, pyenv_python

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("dash") is None,
    reason="needs root, unshare and dash (network namespaces, service users)",
)


def user_name(tag: str) -> str:
    # Unique per run: tests of other sessions on this machine may run at the same time.
    return f"{tag}{os.getpid() % 100000}{int(time.time() * 1000) % 1000}"


def status(n: Node, *args: str) -> tuple[int, str, str]:
    proc = n.in_netns(str(n.prefix / "bin" / "stormctl"), "status", *args)
    return proc.returncode, proc.stdout, proc.stderr


def as_json(n: Node) -> Any:
    code, out, err = status(n, "--json")
    report = json.loads(out)
    assert report["exit"] == code, (code, out, err)
    return report


def test_status_is_healthy_then_names_a_stopped_program(bundle_dir: Path) -> None:
    user = user_name("sst")
    with node(bundle_dir, python=pyenv_python("3.13"), users=[user]) as n:
        installed = n.install("--role", "zookeeper,nimbus,supervisor,ui", "--user", user)
        assert installed.code == 0, installed

        code, out, err = status(n)
        assert code == 0, (out, err)
        assert out.splitlines()[-1] == "status: healthy", out
        assert "storm-nimbus      RUNNING   pid " in out and " port 6627 open" in out
        assert "srvr Mode: standalone" in out
        assert "ZooKeeper quorum  ok: 1 of 1 serving" in out
        logs = n.prefix / "logs"
        assert f"      log: {logs}/storm-nimbus.log (stdout and stderr, by supervisord)" in out
        assert f"      log: {logs}/storm/nimbus.log (Storm's own)" in out
        report = as_json(n)
        assert report["healthy"] is True and report["problems"] == []
        programs = {p["name"]: p for p in report["programs"]}
        assert sorted(programs) == ["storm-nimbus", "storm-supervisor", "storm-ui", "zookeeper"]
        for entry in programs.values():
            assert entry["state"] == "RUNNING" and entry["problems"] == [], entry
            assert Path(entry["logs"][0]["path"]).is_file(), entry  # supervisord's, written
        assert Path(programs["storm-nimbus"]["logs"][1]["path"]).is_file()

        n.rpc().supervisor.stopProcess("storm-ui", True)
        code, out, err = status(n)
        assert code == 5, (out, err)
        assert "  storm-ui          STOPPED" in out
        assert out.splitlines()[-1] == "status: 1 problem(s): storm-ui STOPPED", out
        report = as_json(n)
        assert report["healthy"] is False and report["problems"] == ["storm-ui STOPPED"]

        usage = status(n, "--verbose")
        assert usage[0] == 2 and "expected nothing or --json, found --verbose" in usage[2]


def test_status_says_a_member_out_of_quorum_is_not_healthy(bundle_dir: Path) -> None:
    user = user_name("ssq")
    servers = "127.0.0.1,127.0.0.2,127.0.0.3"
    with node(bundle_dir, python=pyenv_python("3.13"), users=[user]) as n:
        # Member 1 of three, the other two never started: it runs but cannot serve.
        flags = ("--role", "zookeeper", "--zk-servers", servers, "--zk-id", "1")
        # --peer-timeout 0: the installer reports the missing members and does not wait.
        installed = n.install(*flags, "--user", user, "--peer-timeout", "0")
        assert installed.code == 0 and "not waiting (--peer-timeout 0)" in installed.err, installed
        assert n.processes()["zookeeper"]["statename"] == "RUNNING"

        code, out, err = status(n)
        assert code == 5, (out, err)
        assert "  zookeeper         RUNNING   pid " in out
        assert "srvr Mode: none (not serving)" in out
        assert "ZooKeeper quorum  LOST: 0 of 3 serving, 2 needed; leader none" in out
        report = as_json(n)
        assert report["healthy"] is False
        assert report["problems"] == ["ZooKeeper not serving on port 2181", "no ZooKeeper quorum"]
