"""bundler as a real Python package: an sdist and a wheel built from the working tree, the wheel
installed into a fresh venv, and that `bundler` used from `/` against the local test mirror.

Building needs setuptools from the package index and installing needs bundler's dependencies:
pip takes both from its cache when it has them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import bundler
from bundler.recipes import package_data
from tests.support.cli import build_args
from tests.support.mirror_server import MirrorServer

ROOT = Path(__file__).resolve().parents[2]
# Our own warnings only: the machine's pip configuration may add warnings of its own.
OUR_WARNINGS = ("BuildBackendWarning", "SetuptoolsDeprecationWarning", "deprecated")


def run(
    *args: str | Path, cwd: Path = ROOT, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def source_files() -> list[str]:
    """What a clone of the next commit holds: tracked files plus new ones not ignored."""
    proc = run("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return sorted(name for name in proc.stdout.split("\0") if name and (ROOT / name).is_file())


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel, built by `python -m build` (the wheel from the sdist) from a copy of the
    source, so the build writes nothing into the working tree."""
    base = tmp_path_factory.mktemp("package")
    src = base / "src"
    for rel in source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    out = base / "dist"
    proc = run(sys.executable, "-m", "build", "--outdir", out, src)
    text = proc.stdout + proc.stderr
    for warning in OUR_WARNINGS:
        assert warning not in text, text
    return out


def only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, (pattern, found)
    return found[0]


def test_wheel_and_sdist_carry_every_module_recipe_and_onhost_file(dist: Path) -> None:
    wheel = zipfile.ZipFile(only(dist, "bundler-*.whl"))
    in_wheel = set(wheel.namelist())
    sources = source_files()
    wanted = {rel for rel in sources if rel.startswith("bundler/")}
    wanted |= {
        "bundler/recipe_data/" + rel[len("recipes/") :]
        for rel in sources
        if rel.startswith("recipes/")
    }
    assert wanted <= in_wheel, sorted(wanted - in_wheel)
    # Each Apache file is present once and unchanged.
    for rel in (
        "storm-defaults/2.8.8.yaml",
        "zookeeper-samples/3.4.6-zoo_sample.cfg",
        "storm.toml",
    ):
        data = wheel.read(f"bundler/recipe_data/{rel}")
        assert data == (package_data.recipes_dir() / rel).read_bytes(), rel
    # Nothing but the package and its metadata: no tests, scripts or build leftovers.
    dist_info = f"bundler-{bundler.__version__}.dist-info"
    assert {name.split("/")[0] for name in in_wheel} == {"bundler", dist_info}
    metadata = wheel.read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata

    with tarfile.open(only(dist, "bundler-*.tar.gz")) as sdist:
        in_sdist = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {rel for rel in sources if rel.startswith(("bundler/", "recipes/"))} <= in_sdist


def test_wheel_installed_in_a_fresh_venv_builds_from_any_folder(
    dist: Path,
    mirror_dir: Path,
    mirror_server: MirrorServer,
    wheelhouse: Path,
    tmp_path: Path,
) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    proc = run(venv / "bin" / "python", "-m", "pip", "install", only(dist, "bundler-*.whl"))
    for warning in OUR_WARNINGS:
        assert warning not in proc.stdout + proc.stderr
    exe = venv / "bin" / "bundler"

    listing = run(exe, "recipes", cwd=Path("/"))
    assert "Storm:" in listing.stdout and "ZooKeeper:" in listing.stdout

    out = tmp_path / "out"
    args = build_args(mirror_server.url, mirror_dir, wheelhouse, tmp_path, "--quiet")
    build = run(exe, *args, cwd=Path("/"))
    bundle = Path(build.stdout.strip().splitlines()[-1])
    assert bundle == out / "storm-0.9.5-zk-3.4.6.tar"
    verified = run(exe, "verify", bundle, cwd=Path("/"))
    assert f"{bundle}: OK" in verified.stdout

    # The on-host files in the bundle are the installed package's, byte for byte the source's.
    with tarfile.open(bundle) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        top = "storm-0.9.5-zk-3.4.6/"
        onhost = ROOT / "bundler" / "onhost"
        for rel in source_files():
            if not rel.startswith("bundler/onhost/"):
                continue
            inner = rel[len("bundler/onhost/") :]
            name = top + ("install.sh" if inner == "install.sh" else f"onhost/{inner}")
            assert name in members, name
            data = tar.extractfile(members[name])
            assert data is not None and data.read() == (onhost / inner).read_bytes(), name
