"""The installer owns what it creates, and only that (issue 10, parts 1 and 7), end to end as
root in a network namespace: a foreign or system prefix is refused before any change, a dry run
changes nothing anywhere, --uninstall --purge removes exactly what the record says, and a
failed health check says what it leaves running and how to stop it."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
from pathlib import Path

import pytest

from tests.support.bundles import node, pyenv_python, snapshot, start_without_java

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("dash") is None,
    reason="needs root, unshare and dash (network namespaces, service users)",
)


def service_user() -> str:
    return f"bsf{os.getpid() % 100000}"


def alive(pid: int) -> bool:
    """A process that runs (a zombie has stopped; only its parent's wait is missing)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat_line.rsplit(") ", 1)[1][:1] != "Z"


def user_table() -> bytes:
    return b"".join(Path(p).read_bytes() for p in ("/etc/passwd", "/etc/group", "/etc/shadow"))


def test_a_foreign_prefix_is_refused_and_left_as_it_was(bundle_dir: Path) -> None:
    user = service_user()
    with node(bundle_dir, users=[user]) as n:
        # Someone else's folder: their files, mode 1777.
        (n.prefix / "data").mkdir(parents=True)
        (n.prefix / "data" / "important.db").write_text("theirs\n")
        (n.prefix / "logs").mkdir()
        (n.prefix / "logs" / "app.log").write_text("theirs\n")
        n.prefix.chmod(0o1777)
        before, users = snapshot(n.prefix.parent), user_table()
        for extra in ((), ("--dry-run",), ("--check",)):
            result = n.install("--role", "all", "--user", user, *extra)
            assert result.code == 2, result
            line = result.err.strip().splitlines()[-1]
            assert line.startswith(
                f"install: error: --prefix {n.prefix}: {n.prefix} exists, is not"
            )
            assert "not an installation of this installer" in line and "data, logs" in line
            assert "would " not in result.out
        assert snapshot(n.prefix.parent) == before
        assert user_table() == users
        assert stat.S_IMODE(n.prefix.stat().st_mode) == 0o1777


@pytest.mark.parametrize("prefix", ["/tmp", "/etc", "/opt", "/", "/root", "/usr/local"])
def test_system_folders_are_refused_before_any_change(bundle_dir: Path, prefix: str) -> None:
    user = service_user()
    with node(bundle_dir, users=[user]) as n:
        before, users = os.stat(prefix), user_table()
        for extra in (("--dry-run",), ()):
            result = n.run("--role", "all", "--user", user, "--prefix", prefix, *extra)
            assert result.code == 2, result
            # / is refused by the contract's prefix rule, the rest as system folders.
            said = "--prefix: expected a folder of its own, found /"
            assert (said if prefix == "/" else f"--prefix {prefix}: {prefix} is a ") in (
                result.err
            ), result
            assert "would " not in result.out
        after = os.stat(prefix)
        assert (after.st_mode, after.st_uid, after.st_gid) == (
            before.st_mode,
            before.st_uid,
            before.st_gid,
        )
        assert user_table() == users


def test_an_empty_prefix_is_used_but_its_mode_and_owner_stay(bundle_dir: Path) -> None:
    user = service_user()
    with node(bundle_dir, users=[user]) as n:
        n.prefix.mkdir()
        n.prefix.chmod(0o1777)
        result = n.install("--role", "all", "--user", user, "--no-start")
        assert result.code == 0, result
        assert stat.S_IMODE(n.prefix.stat().st_mode) == 0o1777
        assert n.prefix.stat().st_uid == 0
        record = json.loads((n.prefix / "state" / "installed.json").read_text())
        assert "" not in record["created"] and "data/zookeeper" in record["created"]
        gone = n.run("--uninstall", "--purge", "--prefix", str(n.prefix))
        assert gone.code == 0, gone
        assert n.prefix.is_dir() and list(n.prefix.iterdir()) == []


def test_dry_run_changes_nothing_on_a_fresh_host_nor_on_an_installed_one(bundle_dir: Path) -> None:
    user = service_user()
    with node(bundle_dir, users=[user]) as n:
        before, users = snapshot(n.prefix.parent), user_table()
        dry = n.install("--role", "all", "--user", user, "--dry-run")
        assert dry.code == 0 and "would create service user" in dry.out, dry
        assert snapshot(n.prefix.parent) == before
        assert user_table() == users
        with pytest.raises(KeyError):
            pwd.getpwnam(user)
        staged = n.install("--role", "zookeeper", "--user", user, "--no-start")
        assert staged.code == 0, staged
        before, users = snapshot(n.prefix.parent), user_table()
        dry = n.install("--role", "all", "--user", user, "--dry-run", "--no-start")
        assert dry.code == 0 and "would update" in dry.out, dry
        gone = n.run("--uninstall", "--purge", "--prefix", str(n.prefix), "--dry-run")
        assert gone.code == 0 and "would remove" in gone.out, gone
        assert snapshot(n.prefix.parent) == before
        assert user_table() == users


def test_purge_removes_exactly_what_the_record_says(bundle_dir: Path) -> None:
    user = service_user()
    with node(bundle_dir, users=[user]) as n:
        staged = n.install("--role", "all", "--user", user, "--no-start")
        assert staged.code == 0, staged
        # What the daemons would write (theirs: in folders the installer made for them) and
        # what someone else put beside it later.
        (n.prefix / "data" / "zookeeper" / "version-2").mkdir()
        (n.prefix / "data" / "zookeeper" / "version-2" / "snapshot.0").write_text("zk")
        daemons = pwd.getpwnam(user)
        for path in (n.prefix / "data" / "zookeeper").rglob("*"):
            os.chown(path, daemons.pw_uid, daemons.pw_gid)
        (n.prefix / "logs" / "supervisord.log").write_text("ours")
        (n.prefix / "logs" / "supervisord.log.1").write_text("ours")
        (n.prefix / "data" / "important.db").write_text("theirs")
        (n.prefix / "logs" / "app.log").write_text("theirs")
        (n.prefix / "notes.txt").write_text("theirs")
        gone = n.run("--uninstall", "--purge", "--prefix", str(n.prefix))
        assert gone.code == 0, gone
        left = sorted(p.relative_to(n.prefix).as_posix() for p in n.prefix.rglob("*"))
        assert left == ["data", "data/important.db", "logs", "logs/app.log", "notes.txt"], left
        assert f"kept {n.prefix}/data: it holds what this installer did not create" in gone.err
        with pytest.raises(KeyError):
            pwd.getpwnam(user)


def test_failed_health_check_says_what_runs_and_how_to_stop_it(bundle_dir: Path) -> None:
    user = service_user()
    with node(bundle_dir, python=pyenv_python("3.13"), users=[user]) as n:
        result = start_without_java(n, user, timeout=15)
        assert result.code == 5, result
        pid = (n.prefix / "run" / "supervisord.pid").read_text().strip()
        assert f"left running: supervisord (pid {pid}, config {n.prefix}/etc/supervisord.conf)" in (
            result.err
        )
        assert "  zookeeper         RUNNING" in result.err
        assert "  storm-nimbus " in result.err
        stop = f"to stop them: {n.prefix}/bin/stormctl stop all"
        assert stop in result.err
        assert f"./install.sh --uninstall --prefix {n.prefix}" in result.err
        # The state is as said: supervisord runs, and the stated command stops its programs.
        states = {k: v["statename"] for k, v in n.processes().items()}
        assert states["zookeeper"] == "RUNNING"
        done = n.in_netns(str(n.prefix / "bin" / "stormctl"), "stop", "all")
        assert done.returncode == 0, done
        assert {v["statename"] for v in n.processes().values()} == {"STOPPED"}
        gone = n.run("--uninstall", "--prefix", str(n.prefix))
        assert gone.code == 0, gone
        assert not alive(int(pid))
