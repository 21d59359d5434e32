"""`make demo`'s script as root: it installs as a service user of its own, and leaves neither
that user nor the machine-wide `storm` user changed behind it."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bundles import SYSTEM_PATH, remove_user
from tests.support.cli import ROOT

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare (a host with no network, a service user)",
)


def exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def test_the_demo_uses_a_user_of_its_own(
    mirror_dir: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    user = f"bdemo{os.getpid() % 100000}"
    storm = exists("storm")
    env = {
        "PATH": SYSTEM_PATH, "HOME": "/root", "LANG": "C.UTF-8", "PY": sys.executable,
        "MIRROR": str(mirror_dir), "WHEELHOUSE": str(wheelhouse), "OUT": str(tmp_path),
        "DEMO_USER": user,
    }  # fmt: skip
    try:
        proc = subprocess.run(
            ["sh", "scripts/demo.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=900, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert f"create service user {user}" in proc.stdout + proc.stderr
        # Storm 2.6.4 with --smoke: the example topology acked tuples on Apache's daemons.
        assert "smoke: passed: org.apache.storm.starter.ExclamationTopology" in proc.stdout
        assert f"remove service user {user}" in proc.stdout + proc.stderr
        assert not exists(user)
        assert exists("storm") is storm
    finally:
        remove_user(user)
