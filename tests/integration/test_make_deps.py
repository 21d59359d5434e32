"""`make deps` installs what a target needs: sshd (the Ansible test's hosts) and tinyproxy (the
proxy test) only for the tests, never for `make demo`. Read from make's dry run of each target."""

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


@pytest.mark.parametrize(("target", "tests"), [("demo", False), ("test", True), ("check", True)])
def test_sshd_and_the_proxy_only_for_the_tests(target: str, tests: bool) -> None:
    out = dry_run(target)
    assert "gnupg" in out
    assert ("openssh-server" in out) is tests
    assert ("tinyproxy" in out) is tests
