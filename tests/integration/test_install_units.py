"""The installer's parts that need no running services: install.sh's command line under dash,
safe extraction (archive.py), the version rules (versions.py), on every target Python."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.support.bundles import pyenv_python

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "bundler" / "onhost"

from bundler.onhost.contract import archive, versions  # noqa: E402

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


# --- version rules ---


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ((2, 7, 18), ">=2.6,<3", True),
        ((3, 11, 2), ">=2.6,<3", False),
        ((2, 6), ">=2.6,<3", True),
        ((3, 6, 15), ">=3", True),
        ((2, 7), ">=3", False),
        ((3, 13, 0), ">=2.7", True),
        ((3, 9), "==3.*", True),
        ((2, 7), "==3.*", False),
        ((3, 9, 1), "~=3.9", True),
        ((4, 0), "~=3.9", False),
        ((3, 0, 0), "!=3.0", False),
    ],
)
def test_launcher_python_specifiers(version: tuple[int, ...], spec: str, ok: bool) -> None:
    assert versions.satisfies(version, spec) is ok


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('java version "1.8.0_392"\nJava(TM) SE Runtime Environment', 8),
        ('openjdk version "1.7.0_95"', 7),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "9-ea"', 9),
        ("Error: could not find libjava.so", None),
    ],
)
def test_java_version_output_of_every_era(output: str, major: int | None) -> None:
    assert versions.parse_java_version(output) == major


CHECKS = """
import sys
sys.path.insert(0, sys.argv[1])
from onhost.contract import archive, versions
from onhost import cli
from onhost.render import configs
from onhost.host import health
from onhost.apply import supervisord
assert versions.satisfies((2, 7, 18), ">=2.6,<3") and not versions.satisfies((3, 1), ">=2.6,<3")
assert versions.parse_java_version('java version "1.8.0_1"') == 8
assert versions.parse_java_version('openjdk version "17.0.1"') == 17
assert supervisord.program_changes(
    {"program:a": {"x": "1"}, "program:b": {}}, {"program:a": {"x": "2"}, "program:c": {}}
) == (["c"], ["a"], ["b"])
conf = supervisord.parse_conf(
    b"[supervisord]\\npidfile=/x/run/p\\n[program:zookeeper]\\ncommand=z\\n"
)
assert conf["supervisord"]["pidfile"] == "/x/run/p"
print("ok")
"""


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.9", "3.13"])
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


# --- archive.py: nothing leaves the release folder ---

TOP = "apache-storm-9.9.9"


def tarball(path: Path, *entries: tarfile.TarInfo | tuple[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return path


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def special(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info


@pytest.mark.parametrize(
    ("entries", "says"),
    [
        ([("/etc/evil", b"x")], "absolute"),
        ([(f"{TOP}/../evil", b"x")], "'..'"),
        ([("other-top/file", b"x")], "outside the release folder"),
        ([link(f"{TOP}/bin/up", "../../..")], "leaves the release folder"),
        ([link(f"{TOP}/abs", "/etc/passwd")], "absolute"),
        ([link(f"{TOP}/hard", "/etc/passwd", tarfile.LNKTYPE)], "leaves the release folder"),
        ([link(f"{TOP}/hard", "other/x", tarfile.LNKTYPE)], "leaves the release folder"),
        ([special(f"{TOP}/dev/sda", tarfile.BLKTYPE)], "special file"),
        ([special(f"{TOP}/dev/tty", tarfile.CHRTYPE)], "special file"),
        ([special(f"{TOP}/fifo", tarfile.FIFOTYPE)], "special file"),
        # Lexically inside, really one level up: a link under a folder that is itself a link.
        ([link(f"{TOP}/s", "."), link(f"{TOP}/s/up", "../x")], "inside a linked folder"),
    ],
)
def test_unsafe_entries_are_refused_and_nothing_is_kept(
    tmp_path: Path, entries: list[tarfile.TarInfo | tuple[str, bytes]], says: str
) -> None:
    tar = tarball(tmp_path / "evil.tar.gz", (f"{TOP}/bin/storm", b"#!/bin/sh\n"), *entries)
    releases = tmp_path / "releases"
    with pytest.raises(archive.UnsafeArchive, match=says):
        archive.extract(str(tar), str(releases), TOP)
    assert list(releases.iterdir()) == []
    assert not (tmp_path / "evil").exists() and not Path("/etc/evil").exists()


def test_a_release_unpacks_whole_with_safe_modes_and_in_tree_links(tmp_path: Path) -> None:
    setuid = tarfile.TarInfo(f"{TOP}/bin/su")
    setuid.mode = 0o4777
    setuid.size = 2
    with tarfile.open(tmp_path / "ok.tar.gz", "w:gz") as tar:
        tar.addfile(setuid, io.BytesIO(b"#!"))
        for name, data in ((f"./{TOP}/conf/defaults.yaml", b"a: 1\n"), (f"{TOP}/lib/x.jar", b"j")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o666
            tar.addfile(info, io.BytesIO(data))
        tar.addfile(link(f"{TOP}/lib/current.jar", "x.jar"))
        tar.addfile(link(f"{TOP}/lib/same.jar", f"{TOP}/lib/x.jar", tarfile.LNKTYPE))
    releases = tmp_path / "releases"
    final = Path(archive.extract(str(tmp_path / "ok.tar.gz"), str(releases), TOP))
    assert final == releases / TOP
    assert sorted(p.name for p in releases.iterdir()) == [TOP]
    assert (final / "conf" / "defaults.yaml").read_text() == "a: 1\n"
    assert (final / "bin" / "su").stat().st_mode & 0o7777 == 0o755
    assert (final / "lib" / "x.jar").stat().st_mode & 0o7777 == 0o644
    assert os.readlink(final / "lib" / "current.jar") == "x.jar"
    assert (final / "lib" / "same.jar").read_bytes() == b"j"
    # A release folder that exists is complete: it is never extracted over.
    with pytest.raises(OSError):
        archive.extract(str(tmp_path / "ok.tar.gz"), str(releases), TOP)


def test_read_member_reads_one_file_without_extracting(tmp_path: Path) -> None:
    tar = tarball(tmp_path / "z.tar.gz", (f"{TOP}/bin/zkServer.sh", b"#!/usr/bin/env bash\nx\n"))
    assert archive.read_member(str(tar), f"{TOP}/bin/zkServer.sh", 20) == b"#!/usr/bin/env bash\n"
    assert archive.read_member(str(tar), f"{TOP}/missing", 20) is None


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.13"])
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
