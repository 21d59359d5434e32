"""Restart only on meaning, end to end (root, under dash, in a network namespace): a record
written by the byte-fingerprint code, then a new bundle of the same versions whose files differ
only in their header comment, restart nothing; a real change restarts exactly the programs it
affects. The pids of supervisord's programs say what restarted."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, cast

import pytest

from bundler.onhost.plan import fingerprint
from bundler.onhost.render.supervisordconf import parse_conf
from tests.support.bundles import build_bundle, manifest, node, public_dir, pyenv_python, unpack

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("dash") is None,
    reason="needs root, unshare and dash (network namespaces, service users)",
)

PROGRAMS = ["storm-nimbus", "storm-supervisor", "storm-ui", "zookeeper"]


def inventory(where: Path, name: str) -> Path:
    """One host with four daemons: only the cluster's name (so the bundle's) differs."""
    path = where / f"{name}.toml"
    path.write_text(
        f'[cluster]\nname = "{name}"\n\n[[host]]\nname = "solo"\naddress = "127.0.0.1"\n'
        'roles = ["zookeeper", "nimbus", "supervisor", "ui"]\n'
    )
    return path


def pids(n: object) -> dict[str, int]:
    infos = n.processes()  # type: ignore[attr-defined]
    assert sorted(infos) == PROGRAMS, infos
    for name, info in infos.items():
        assert info["statename"] == "RUNNING", (name, info)
    return {name: int(info["pid"]) for name, info in infos.items()}


def byte_scheme_record(prefix: Path, bundle_dir: Path) -> None:
    """Rewrite state/installed.json as the code before fingerprints by meaning wrote it."""
    path = prefix / "state" / "installed.json"
    state = json.loads(path.read_text())
    conf = parse_conf((prefix / "etc" / "supervisord.conf").read_bytes())
    files = [(rel, (prefix / rel).read_bytes(), 0) for rel in state["files"]]
    components = cast(dict[str, Any], manifest(bundle_dir)["components"])
    for name in state["programs"]:
        project = fingerprint.program_component(name)
        state["programs"][name] = fingerprint.legacy_fingerprint(
            conf["program:" + name],
            project,
            components[project],
            files,
            None,
        )
        assert ":" not in state["programs"][name]
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def test_a_comment_restarts_nothing_and_a_real_change_exactly_what_it_affects(
    mirror_dir: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    bundle_a = build_bundle(mirror_dir, wheelhouse, cluster=inventory(tmp_path, "alpha"))
    bundle_b = build_bundle(mirror_dir, wheelhouse, cluster=inventory(tmp_path, "beta"))
    where_a, where_b = public_dir("bundle-a"), public_dir("bundle-b")
    user = f"brs{os.getpid() % 100000}{int(time.time() * 1000) % 1000}"
    try:
        with node(unpack(bundle_a, where_a), python=pyenv_python("3.13"), users=[user]) as n:
            first = n.install("--host", "solo", "--user", user)
            assert first.code == 0, first
            started = pids(n)

            # A record of the byte scheme: translated on the next run, nothing restarts.
            byte_scheme_record(n.prefix, n.bundle)
            again = n.install("--host", "solo", "--user", user)
            assert again.code == 0, again
            assert pids(n) == started
            assert again.out.splitlines()[-1] == "install.sh: unchanged", again
            record = json.loads((n.prefix / "state" / "installed.json").read_text())
            assert all(v.startswith("meaning-1:") for v in record["programs"].values()), record

            # Bundle B: every generated file's header names it, nothing else differs.
            n.bundle = unpack(bundle_b, where_b)
            zoo_cfg = (n.prefix / "etc" / "zookeeper" / "zoo.cfg").read_bytes()
            other = n.install("--host", "solo", "--user", user)
            assert other.code == 0, other
            assert pids(n) == started, other
            assert "restart" not in other.err, other.err
            new_zoo_cfg = (n.prefix / "etc" / "zookeeper" / "zoo.cfg").read_bytes()
            assert new_zoo_cfg != zoo_cfg and b"-beta" in new_zoo_cfg
            assert b"-beta" in (n.prefix / "etc" / "storm" / "storm.yaml").read_bytes()
            assert b"-beta" in (n.prefix / "etc" / "supervisord.conf").read_bytes()
            assert other.out.splitlines()[-1] == "install.sh: changed", other

            # A real change to storm.yaml only (nimbus.seeds): the Storm daemons restart,
            # ZooKeeper, whose files are the same, keeps running.
            moved = n.install("--host", "solo", "--user", user, "--nimbus-host", "localhost")
            assert moved.code == 0, moved
            now = pids(n)
            assert now["zookeeper"] == started["zookeeper"], moved
            for name in ("storm-nimbus", "storm-supervisor", "storm-ui"):
                assert now[name] != started[name], (name, moved)
    finally:
        shutil.rmtree(where_a, ignore_errors=True)
        shutil.rmtree(where_b, ignore_errors=True)
