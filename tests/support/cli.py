"""`bundler` run as a user runs it (`python -m bundler ...` in a subprocess), the help click
would print, and the arguments of a build from the local test mirror, shared by the build,
fault, signature, SBOM and parts tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STORM_PATH = "/storm/apache-storm-0.9.5/apache-storm-0.9.5.tar.gz"
ZK_PATH = "/zookeeper/zookeeper-3.4.6/zookeeper-3.4.6.tar.gz"


def click_help(prog: str, columns: int, monkeypatch: pytest.MonkeyPatch) -> str:
    """`PROG --help` as typer and click print it at that terminal width."""
    # Imported here: the other helpers run bundler in a subprocess and need neither.
    import typer.main

    from bundler.cli.app import app

    monkeypatch.setenv("COLUMNS", str(columns))
    group = typer.main.get_command(app)
    ctx = group.make_context(prog, ["--help"], resilient_parsing=True)
    return group.get_help(ctx) + "\n"


class Run:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self) -> str:
        return f"exit {self.code}\nstdout: {self.out}\nstderr: {self.err}"


def bundler_proc(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT, inherit: bool = True
) -> subprocess.CompletedProcess[str]:
    """`python -m bundler ARGS` with this Python, its output captured; `env` over this
    process's environment, or (inherit=False) alone."""
    return subprocess.run(
        [sys.executable, "-m", "bundler", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**(os.environ if inherit else {}), **(env or {})},
        timeout=300,
        check=False,
    )


def bundler(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT, inherit: bool = True
) -> Run:
    return Run(bundler_proc(*args, env=env, cwd=cwd, inherit=inherit))


def release_args(server_url: str, mirror: Path) -> list[str | Path]:
    """`bundler build` of Storm 0.9.5 + ZooKeeper 3.4.6 from the test mirror at server_url
    alone, checked against its KEYS, without the recipes' pins (the mirror's own releases);
    storm-starter from the mirror's Maven repository (maven2/), never from Maven Central."""
    return [
        "build",
        "--storm",
        "0.9.5",
        "--zk",
        "3.4.6",
        "--mirror",
        server_url,
        "--no-default-mirrors",
        "--apache-keys",
        mirror / "keys" / "KEYS",
        "--no-pins",
        "--maven-mirror",
        f"{server_url}/maven2",
    ]


def build_args(
    server_url: str, mirror: Path, wheelhouse: Path, workdir: Path, *extra: str | Path
) -> list[str | Path]:
    """release_args() with the wheels from the wheelhouse, and the cache and output under
    workdir."""
    return [
        *release_args(server_url, mirror),
        "--find-links",
        wheelhouse,
        "--cache-dir",
        workdir / "cache",
        "--out",
        workdir / "out",
        *extra,
    ]


def cache_entries(workdir: Path) -> list[str]:
    root = workdir / "cache" / "v1" / "artifacts"
    return (
        sorted(str(p.relative_to(root)) for p in root.rglob("record.json")) if root.exists() else []
    )


def provenance(bundle: Path) -> dict[str, Any]:
    """The provenance written beside a bundle."""
    data: dict[str, Any] = json.loads(
        bundle.with_name(bundle.name + ".provenance.json").read_text()
    )
    return data


def provenance_sources(bundle: Path) -> dict[str, tuple[str | None, str]]:
    """file name -> (URI, what served it in this build) from the provenance beside a bundle."""
    deps = provenance(bundle)["predicate"]["buildDefinition"]["resolvedDependencies"]
    return {d["name"]: (d.get("uri"), d["annotations"]["servedBy"]) for d in deps}
