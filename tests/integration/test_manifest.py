"""The on-host manifest reader runs under every host Python (2.7, 3.6, 3.13) and reads a
sample bundle.json as this one does, naming what is broken in a damaged one (the contract
itself: tests/unit/test_manifest.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.bundles import pyenv_python
from tests.support.manifests import sample

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("python", ["2.7", "3.6", "3.13"])
def test_reader_runs_on_every_host_python(python: str, tmp_path: Path) -> None:
    interpreter = pyenv_python(python)
    (tmp_path / "bundle.json").write_bytes(sample().to_bytes())
    broken = json.loads(sample().to_bytes())
    broken["files"]["cluster.json"]["size"] = -1
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bundle.json").write_text(json.dumps(broken))
    script = (
        "from __future__ import print_function\n"
        "import sys\n"
        "from bundler.onhost.contract import manifest\n"
        "m = manifest.read(sys.argv[1])\n"
        "print(m.name, m.storm.version, sorted(m.supervisor.pythons), m.jdk.java_major)\n"
        "try:\n"
        "    manifest.read(sys.argv[2])\n"
        "except manifest.ManifestError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run(
        [str(interpreter), "-E", "-S", "-B", "-c", script, tmp_path, tmp_path / "broken"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    assert first.replace("u'", "'") == "storm-2.6.4-zk-3.8.4-book 2.6.4 ['3.12'] 17"
    assert "files.cluster.json.size: expected a number of at least 0, found -1" in second
