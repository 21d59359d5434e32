"""The installer's parts that need no running services: install.sh's command line under dash,
and its code on every target Python (safe extraction and the version rules alone:
tests/unit/test_install_units.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.bundles import pyenv_python

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "bundler" / "onhost"


# --- the command line (flags.py): usage errors are one line and exit 2, before anything else ---


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the installer package alone, as a bundle's folder does."""
    where = tmp_path_factory.mktemp("bundle")
    shutil.copytree(TARGET, where / "onhost", ignore=shutil.ignore_patterns("__pycache__"))
    return where


def installer(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installer as install.sh runs it, on a bundle folder that does not exist: flags are
    judged before the bundle is read."""
    return subprocess.run(
        [sys.executable, "-E", "-S", "-B", "-m", "onhost", "--bundle-dir", "/nonexistent", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=where,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "--role is required"),
        (
            ("--role", "storm"),
            "--role: expected a comma list of: zookeeper, nimbus, supervisor, ui, logviewer, "
            "drpc, all; found 'storm'",
        ),
        (("--role", "nimbus,,ui"), "--role: expected a comma list of"),
        (("--role",), "--role needs a value"),
        (
            ("--role", "all", "--prefix", "opt/storm"),
            "--prefix: expected a normalised absolute path",
        ),
        (("--role", "all", "--prefix", "/opt/st orm"), "found '/opt/st orm'; use such a path"),
        (("--role", "all", "--user", "Storm!"), "--user: expected a user name"),
        (("--role", "all", "--zk-servers", "a,,b"), "--zk-servers: expected an IPv4 address"),
        (("--role", "all", "--zk-id", "0"), "1 to 255"),
        (("--role", "all", "--zk-id", "x"), "1 to 255"),
        (("--role", "all", "--zk-servers", "a,b", "--zk-id", "3"), "names 2 host(s)"),
        (("--role", "all", "--nimbus-host", "a b"), "--nimbus-host: expected an IPv4 address"),
        (("--role", "all", "--supervisord-ui-bind", "1.2.3.4:99999"), "1 to 65535"),
        (("--role", "all", "--supervisord-ui-bind", "1.2.3.4:"), "1 to 65535"),
        # The old name of --supervisord-ui-bind is still taken, and judged as the new one.
        (("--role", "all", "--ui-bind=a,b:80"), "--supervisord-ui-bind: expected an IPv4"),
        (("--role", "all", "--init", "upstart"), "--init: expected auto, systemd, none"),
        (("--role", "all", "--timeout", "soon"), "whole number"),
        (("--role", "all", "--purge"), "--purge goes with --uninstall"),
        (("--uninstall", "--role", "all"), "--uninstall takes only"),
        (("--check", "--uninstall"), "do not go together"),
        (("--check", "--dry-run"), "drop --dry-run"),
        (("--role", "all", "--frobnicate"), "unknown option '--frobnicate'"),
        (("--role=all", "--dry-run=yes"), "--dry-run takes no value"),
        (("--host", "a,b"), "--host: expected an IPv4 address"),
        (("--host", "a b"), "found 'a b'"),
        (("--role", "all", "--peer-timeout", "-1"), "--peer-timeout: expected a whole number"),
        (("--uninstall", "--peer-timeout", "5"), "--uninstall takes only"),
        (("--role", "all", "--python="), "--python: expected a normalised absolute path"),
        (("--role", "all", "--web-password-file="), "--web-password-file: expected a file name"),
        (
            ("--role", "all", "--supervisord-ui-bind", "a,b:80"),
            "--supervisord-ui-bind: expected an IPv4 address",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    package_dir: Path, args: tuple[str, ...], says: str
) -> None:
    proc = installer(package_dir, *args)
    assert proc.returncode == 2, proc
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert says in proc.stderr
    assert proc.stderr.startswith("install.sh: error: ")


def test_help_lists_every_flag_of_the_issue(package_dir: Path) -> None:
    proc = installer(package_dir, "--help")
    assert proc.returncode == 0
    for flag in (
        "--role",
        "--prefix",
        "--user",
        "--zk-servers",
        "--zk-id",
        "--nimbus-host",
        "--supervisord-ui-bind",
        "--web-password-file",
        "--init",
        "--no-start",
        "--dry-run",
        "--check",
        "--uninstall",
        "--purge",
        "--help",
        "--host",
        "--peer-timeout",
    ):
        assert flag in proc.stdout


def test_install_sh_is_shellcheck_clean() -> None:
    proc = subprocess.run(
        ["shellcheck", "-s", "sh", str(TARGET / "install.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout


CHECKS = """
import sys
sys.path.insert(0, sys.argv[1])
from onhost.contract import archive, versions
from onhost import cli
from onhost.render import configs
from onhost.host import health
from onhost.render import supervisordconf
assert versions.satisfies((2, 7, 18), ">=2.6,<3") and not versions.satisfies((3, 1), ">=2.6,<3")
assert versions.parse_java_version('java version "1.8.0_1"') == 8
assert versions.parse_java_version('openjdk version "17.0.1"') == 17
assert supervisordconf.program_changes(
    {"program:a": {"x": "1"}, "program:b": {}}, {"program:a": {"x": "2"}, "program:c": {}}
) == (["c"], ["a"], ["b"])
conf = supervisordconf.parse_conf(
    b"[supervisord]\\npidfile=/x/run/p\\n[program:zookeeper]\\ncommand=z\\n"
)
assert conf["supervisord"]["pidfile"] == "/x/run/p"
print("ok")
"""


@pytest.mark.parametrize("version", ["2.7", "debian-2.7", "3.6", "3.9", "3.13"])
def test_target_code_runs_on_every_target_python(version: str, tmp_path: Path) -> None:
    python = pyenv_python(version)
    # The package alone on sys.path, as in a bundle: bundler/ beside it has an http.py.
    shutil.copytree(TARGET, tmp_path / "onhost")
    proc = subprocess.run(
        [str(python), "-E", "-S", "-B", "-c", CHECKS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


@pytest.mark.parametrize("version", ["2.7", "debian-2.7", "3.6", "3.13"])
def test_a_module_beside_the_code_shadows_nothing(version: str, tmp_path: Path) -> None:
    # The package is run with -m and imports its parts relatively: a json.py inside it (had
    # it got past SHA256SUMS) is never the stdlib's json, on any target Python.
    shutil.copytree(TARGET, tmp_path / "onhost", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "onhost" / "json.py").write_text("raise SystemExit('shadowed')\n")
    (tmp_path / "bundle.json").write_text('{"schema": 99}')
    (tmp_path / "SHA256SUMS").write_text("")
    cmd = [str(pyenv_python(version)), "-E", "-S", "-B", "-m", "onhost"]
    proc = subprocess.run(
        [*cmd, "--bundle-dir", str(tmp_path), "--role", "all", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert "shadowed" not in proc.stderr + proc.stdout, proc
    # It read bundle.json with the real json, and says what it found there.
    assert proc.returncode == 3 and "expected manifest schema 1, found 99" in proc.stderr, proc
