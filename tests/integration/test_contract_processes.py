"""The contract (onhost/contract/contract.py) where it takes a process: on each target Python, and
through `bundler render`'s command line. The contract's own tests are in tests/unit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bundles import pyenv_python
from tests.support.inventories import THREE_HOSTS, cluster_toml

ROOT = Path(__file__).resolve().parents[2]


def test_bundler_render_refuses_a_bad_option_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(cluster_toml(THREE_HOSTS, storm="2.6.4", zookeeper="3.8.4"))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bundler",
            "render",
            "--cluster",
            str(path),
            "--host",
            "zk1",
            "--java-home",
            "/opt/j dk",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 2, run
    assert run.stderr.count("\n") == 1 and "error: --java-home: expected" in run.stderr


# --- on the target Pythons ---

# Run from the repository root: the on-host code is the package bundler.onhost, as here.
ON_TARGET = r"""
from bundler.onhost.contract import contract
assert contract.check_address("zk-1.example.org", "a") == "zk-1.example.org"
for bad in (u"999.1.1.1", u"a" * 300, u"zk1\n", u"zk_1"):
    try:
        contract.check_address(bad, "--zk-servers")
    except contract.Invalid as exc:
        assert "\n" not in str(exc), str(exc)
    else:
        raise AssertionError(bad)
assert contract.check_prefix(u"/opt/storm", "p") == "/opt/storm"
assert contract.parse_int(u"42", "n", (1, 255)) == 42
assert contract.parse_roles(u"nimbus") == ["nimbus"]
try:
    contract.check_user(u"St\u00f6rm", "--user")
except contract.Invalid as exc:
    print(str(exc))
from bundler.onhost.render import configs
from bundler.onhost.contract import cluster
assert configs.ROLES is contract.ROLES
"""


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.13"])
def test_the_contract_runs_on_every_target_python(version: str) -> None:
    python = pyenv_python(version)
    proc = subprocess.run(
        [str(python), "-E", "-S", "-B", "-c", ON_TARGET],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("--user: expected a user name"), proc.stdout
