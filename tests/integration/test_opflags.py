"""install.sh's operator options, refused by the installer as install.sh runs it (in a process
of its own, exit 2) before it reads the bundle (the options' parsing and rules:
tests/unit/test_opflags.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("bundle")
    shutil.copytree(
        ROOT / "bundler" / "onhost", where / "onhost", ignore=shutil.ignore_patterns("__pycache__")
    )
    return where


@pytest.mark.parametrize("python", ["2.7", "3.6", "3.13"])
def test_the_installer_refuses_exit_2_before_reading_the_bundle(
    package_dir: Path, python: str
) -> None:
    from tests.support.bundles import pyenv_python

    proc = subprocess.run(
        [str(pyenv_python(python)), "-E", "-S", "-B",
         "-m", "onhost", "--bundle-dir", "/nonexistent", "--role", "all",
         "--storm-option", "supervisor.slots.ports=[6700]"],
        capture_output=True, text=True, timeout=30, check=False, cwd=package_dir,
    )  # fmt: skip
    assert proc.returncode == 2, proc
    assert proc.stderr == (
        "install.sh: error: --storm-option supervisor.slots.ports: bundler writes this key "
        "itself; it is set by an inventory's slots; drop this option; see --help\n"
    )
