"""normalize.py gives the same digests on every target Python (what a digest means, on every
golden config set: tests/unit/test_normalize.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bundler.onhost.render import normalize
from tests.support.bundles import pyenv_python

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "bundler" / "onhost"


CHECKS = """
import sys
sys.path.insert(0, sys.argv[1])
from onhost.render import normalize
a = normalize.digest("etc/zookeeper/zoo.cfg", b"# a\\ntickTime=2000\\nb=1\\n")
assert a == normalize.digest("etc/zookeeper/zoo.cfg", b"b = 1\\n# b\\ntickTime=2000\\n")
assert a != normalize.digest("etc/zookeeper/zoo.cfg", b"tickTime=2001\\nb=1\\n")
y = normalize.digest("etc/storm/storm.yaml", b'# a\\nx: "1"\\nl:\\n  - 6700\\n')
assert y == normalize.digest("etc/storm/storm.yaml", b'l:\\n  - 6700\\nx: "1"\\n')
assert normalize.meaning("etc/storm/storm.yaml", b"x: {a: 1}\\n")[0] == "bytes"
print(a)
"""


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.9", "3.13"])
def test_same_digests_on_every_target_python(tmp_path: Path, version: str) -> None:
    python = pyenv_python(version)  # skipped, saying so, where this Python is missing
    shutil.copytree(TARGET, tmp_path / "onhost")
    proc = subprocess.run(
        [str(python), "-E", "-S", "-B", "-c", CHECKS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, (version, proc.stderr)
    # One digest across Pythons, this one's: a record written under one is read under another.
    here = normalize.digest("etc/zookeeper/zoo.cfg", b"# a\ntickTime=2000\nb=1\n")
    assert proc.stdout == here + "\n"
