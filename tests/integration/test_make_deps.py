"""`make deps` installs what a target needs: sshd only for the tests (the Ansible test's hosts),
never for `make demo`. Read from make's own dry run of each target."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.cli import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(target: str) -> str:
    proc = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize(("target", "sshd"), [("demo", False), ("test", True), ("check", True)])
def test_sshd_only_for_the_tests(target: str, sshd: bool) -> None:
    out = dry_run(target)
    assert "gnupg" in out
    assert ("openssh-server" in out) is sshd
