"""The bundle's storm-starter placed at PREFIX/lib/smoke/ (onhost/apply/smokejar.py), recorded so
that --uninstall removes it, and replaced or removed when the next bundle has another or none."""

from __future__ import annotations

import hashlib
import os
import stat
from argparse import Namespace
from pathlib import Path
from typing import Any

from bundler.onhost.apply import smokejar
from bundler.onhost.apply.record import Run
from bundler.onhost.host.host import Host
from bundler.onhost.host.ownership import PREFIX_DIRS
from bundler.onhost.operate import uninstall
from bundler.onhost.operate.smoke import example_jar


class FakeBundle:
    def __init__(self, root: Path, version: str | None) -> None:
        self.root = root
        components: dict[str, Any] = {}
        if version is not None:
            rel = f"artifacts/smoke/storm-starter-{version}.jar"
            components["smoke"] = {"version": version, "artifact": rel}
            (root / "artifacts" / "smoke").mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(f"jar {version}\n".encode())
        self.manifest = {"components": components}

    def path(self, rel: str) -> str:
        return os.path.join(str(self.root), *rel.split("/"))


def run_for(prefix: Path, files: dict[str, str], dry_run: bool = False) -> Run:
    host = Host(str(prefix), dry_run, (None, None), (None, None))
    for rel, mode in PREFIX_DIRS:
        host.ensure_dir(rel, mode)
    return Run(host, {}, {"files": dict(files)})


def test_the_jar_goes_to_lib_smoke_mode_0644_and_is_recorded(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    run = run_for(prefix, {})
    smokejar.place(run, FakeBundle(tmp_path / "b", "2.6.4"))  # type: ignore[arg-type]
    jar = prefix / "lib" / "smoke" / "storm-starter-2.6.4.jar"
    assert jar.read_bytes() == b"jar 2.6.4\n"
    assert stat.S_IMODE(jar.stat().st_mode) == 0o644
    rel = "lib/smoke/storm-starter-2.6.4.jar"
    assert run.state["files"] == {rel: hashlib.sha256(b"jar 2.6.4\n").hexdigest()}
    assert any("place storm-starter 2.6.4" in c for c in run.host.changed)
    assert example_jar(str(prefix)) == str(jar)

    again = run_for(prefix, run.state["files"])
    smokejar.place(again, FakeBundle(tmp_path / "b", "2.6.4"))  # type: ignore[arg-type]
    assert again.host.changed == []


def test_another_release_replaces_it_and_a_bundle_without_one_removes_it(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    first = run_for(prefix, {})
    smokejar.place(first, FakeBundle(tmp_path / "a", "2.6.3"))  # type: ignore[arg-type]
    second = run_for(prefix, first.state["files"])
    smokejar.place(second, FakeBundle(tmp_path / "b", "2.6.4"))  # type: ignore[arg-type]
    assert sorted(os.listdir(prefix / "lib" / "smoke")) == ["storm-starter-2.6.4.jar"]
    assert list(second.state["files"]) == ["lib/smoke/storm-starter-2.6.4.jar"]
    third = run_for(prefix, second.state["files"])
    smokejar.place(third, FakeBundle(tmp_path / "c", None))  # type: ignore[arg-type]
    assert os.listdir(prefix / "lib" / "smoke") == []
    assert third.state["files"] == {}


def test_dry_run_says_what_it_would_place_and_writes_nothing(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    run_for(prefix, {})
    run = run_for(prefix, {}, dry_run=True)
    smokejar.place(run, FakeBundle(tmp_path / "b", "2.6.4"))  # type: ignore[arg-type]
    assert [c for c in run.host.changed if "storm-starter" in c]
    assert os.listdir(prefix / "lib" / "smoke") == []


def test_uninstall_removes_it_with_the_other_recorded_files(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    run = run_for(prefix, {})
    smokejar.place(run, FakeBundle(tmp_path / "b", "2.6.4"))  # type: ignore[arg-type]
    state = {"prefix": str(prefix), "files": run.state["files"], "links": ["storm"]}
    host = Host(str(prefix), False, (None, None), (None, None))
    uninstall.remove_installation(host, state, Namespace(dry_run=False, purge=False))  # type: ignore[arg-type]
    assert os.listdir(prefix / "lib" / "smoke") == []
