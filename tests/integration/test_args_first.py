"""install.sh reads its command line before the bundle: `--help`, `--version` and every usage
error are answered from the installer's package (itself checked against SHA256SUMS first)
without reading the rest of the bundle, so a bundle whose release tarball is damaged still
answers them; anything that would act verifies the whole bundle first (exit 3). A value that is
not UTF-8 is one line and exit 2, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.bundles import SYSTEM_PATH, build_bundle, unpack


@pytest.fixture
def damaged(mirror_dir: Path, wheelhouse: Path, tmp_path: Path) -> Path:
    """An unpacked bundle whose Storm tarball has one byte more than SHA256SUMS says."""
    if shutil.which("dash") is None:
        pytest.skip("needs dash (Debian's /bin/sh)")
    top = unpack(build_bundle(mirror_dir, wheelhouse), tmp_path / "b")
    storm = top / "artifacts" / "apache-storm-2.6.4.tar.gz"
    with storm.open("ab") as handle:
        handle.write(b"x")
    return top


def install_sh(top: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["dash", str(top / "install.sh"), *args],
        capture_output=True,
        env={"PATH": SYSTEM_PATH, "HOME": "/nonexistent"},
        timeout=60,
        check=False,
    )


def test_help_version_and_usage_errors_come_before_the_bundle_is_read(damaged: Path) -> None:
    helped = install_sh(damaged, "--help")
    assert helped.returncode == 0, helped
    assert helped.stdout.startswith(b"usage: ./install.sh --role ROLE") and helped.stderr == b""

    version = install_sh(damaged, "--version")
    assert version.returncode == 0, version
    assert version.stdout.decode() == (
        f"{damaged.name}: Storm 2.6.4, ZooKeeper 3.8.4, supervisor 4.3.0\n"
    )

    typo = install_sh(damaged, "--role", "al")
    assert typo.returncode == 2 and typo.stdout == b"", typo
    assert typo.stderr.decode().splitlines() == [
        "install.sh: error: --role: expected a comma list of: zookeeper, nimbus, supervisor, "
        "ui, logviewer, drpc, all; found 'al'; name the roles this host runs; see --help"
    ]

    latin1 = install_sh(damaged, "--role", "all", "--zk-option", b"tickTime=2\xff00")
    assert latin1.returncode == 2 and latin1.stdout == b"", latin1
    assert latin1.stderr.decode().splitlines() == [
        "install.sh: error: expected UTF-8 text in every argument, found 'tickTime=2\\xff00'; "
        "give the value in UTF-8; see --help"
    ]

    # Anything that would act reads the whole bundle first, and refuses it.
    prefix = Path(f"/tmp/bundler-args-first-{os.getpid()}")
    acting = install_sh(damaged, "--role", "all", "--prefix", str(prefix))
    assert acting.returncode == 3, acting
    assert b"apache-storm-2.6.4.tar.gz: FAILED" in acting.stderr
    assert not prefix.exists()


@pytest.mark.parametrize("module", ["flags.py", "contract/contract.py"])
def test_a_damaged_installer_package_answers_nothing(damaged: Path, module: str) -> None:
    # Both run before the whole bundle is checked: the one at the top and one in a stage folder.
    with (damaged / "onhost" / module).open("a") as handle:
        handle.write("\nraise SystemExit('forged')\n")
    proc = install_sh(damaged, "--help")
    assert proc.returncode == 3, proc
    assert b"forged" not in proc.stdout + proc.stderr
    assert f"onhost/{module}: FAILED".encode() in proc.stderr
