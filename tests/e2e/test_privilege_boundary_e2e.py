"""The service user as the attacker, on a real install in a network namespace.

An exploit of a Storm or ZooKeeper daemon runs as the service user. That user here replaces
every file and folder it can with a link to a root-only sentinel file or folder, plants links at
the names root writes, writes a root process's PID into every pid file it can write, tries the
folders that are root's, and kills its own daemons. Then every root entry point runs: a re-run
of install.sh, `stormctl check` and `status`, `--upgrade`, `stormctl rollback`, `--uninstall`
and `--uninstall --purge`. After each, every sentinel keeps its bytes, owner and mode, the root
process lives, nothing in the sentinels' folder became the user's, and no output holds the
secret. The same runs against a prefix installed by the previous release of the layout (data/,
logs/ and run/ the user's) and re-installed in place by this one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.bundles import (
    FLAT_PACKAGE,
    PREVIOUS_LAYOUT,
    Node,
    Result,
    build_bundle,
    node,
    public_dir,
    source_at,
    unpack,
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("unshare") is None
    or shutil.which("dash") is None
    or shutil.which("setpriv") is None,
    reason="needs root, unshare, setpriv and dash (network namespaces, service users)",
)

SECRET = "root-only-sentinel-4711"
# Storm 0.9.5 (the test mirror's stand-in: these tests install with the releases of the
# project before the Java range of Apache's 1.2.4 was known, and restart every program many
# times) with ZooKeeper 3.4.14, then 3.8.4: an upgrade that copies ZooKeeper's data.
STORM, ZK_FROM, ZK_TO = "0.9.5", "3.4.14", "3.8.4"
SERVICE_DIRS = ("data/zookeeper", "data/storm", "logs/storm", "logs/zookeeper")
ROOT_DIRS = ("", "data", "logs", "run", "etc", "state", "bin", "lib", "releases", "python")
# Names root writes in the user's folders, planted before they exist.
PLANTED_NAMES = ("data/zookeeper/myid.bak",)


@dataclass
class Sentinels:
    vault: Path  # root's 0700 folder: a swapped folder points here
    secret: Path  # root's 0600 file in it: every planted file link points here
    root_pid: int  # a root process whose PID the user writes into pid files

    def listing(self) -> dict[str, tuple[int, int, int, bytes]]:
        found = {}
        for path in sorted(self.vault.rglob("*")):
            st = path.lstat()
            found[path.name] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), path.read_bytes())
        return found


@pytest.fixture
def sentinels() -> Iterator[Sentinels]:
    top = public_dir("sentinel")
    vault = top / "vault"
    vault.mkdir(mode=0o700)
    secret = vault / "secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    sleeper = subprocess.Popen(["sleep", "3600"])
    try:
        yield Sentinels(vault, secret, sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
        shutil.rmtree(top, ignore_errors=True)


def as_user(n: Node, user: str, script: str) -> subprocess.CompletedProcess[str]:
    entry = pwd.getpwnam(user)
    cmd = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
    return n.in_netns(*cmd, "sh", "-c", script)


def attack(n: Node, user: str, s: Sentinels) -> None:
    """Everything the service user can do to make root act for it."""
    p = n.prefix
    lines = []
    for rel in SERVICE_DIRS:
        # Every entry of the user's folders: a folder becomes a link to root's vault, anything
        # else a link to root's secret.
        lines.append(
            f'for e in "{p}/{rel}"/* "{p}/{rel}"/.[!.]*; do [ -e "$e" ] || [ -L "$e" ] || '
            f'continue; if [ -d "$e" ] && [ ! -L "$e" ]; then rm -rf "$e"; ln -s "{s.vault}" "$e"; '
            f'else rm -f "$e"; ln -s "{s.secret}" "$e"; fi; done'
        )
    for rel in PLANTED_NAMES:
        lines.append(f'ln -sf "{s.secret}" "{p}/{rel}"')
    # Pid files it can write get a root process's PID.
    write_pid = f"sh -c 'echo {s.root_pid} > \"$1\"' _"
    found = f'find "{p}" -name "*pid*" -type f -user "$(id -u)"'
    lines.append(f"{found} -exec {write_pid} {{}} \\; 2>/dev/null || true")
    script = "\n".join(lines)
    done = as_user(n, user, script)
    assert done.returncode == 0, done.stderr
    # Root's folders refuse it: no name added, none replaced.
    for rel in ROOT_DIRS:
        folder = p / rel
        if folder.exists():
            tried = as_user(n, user, f'ln -s "{s.secret}" "{folder}/planted" 2>/dev/null')
            assert tried.returncode != 0 and not (folder / "planted").is_symlink(), folder
    for rel in ("run/supervisord.pid", "logs/supervisord.log", "run/supervisord.sock"):
        if (p / rel).exists():
            tried = as_user(n, user, f'echo {s.root_pid} > "{p}/{rel}" 2>/dev/null')
            assert tried.returncode != 0, rel
    # Its own daemons die; supervisord (root) restarts them.
    as_user(n, user, "kill -9 -1 2>/dev/null")


def assert_safe(
    s: Sentinels, before: dict[str, tuple[int, int, int, bytes]], *results: Result
) -> None:
    assert s.listing() == before, "root wrote, moved or gave away something in its vault"
    assert s.secret.read_text() == SECRET + "\n"
    st = s.secret.lstat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    assert Path(f"/proc/{s.root_pid}").exists(), "root killed the PID the service user wrote"
    state = Path(f"/proc/{s.root_pid}/stat").read_text().rsplit(") ", 1)[1][:1]
    assert state != "Z"
    for result in results:
        assert SECRET not in result.out + result.err, result


def stormctl(n: Node, *args: str) -> Result:
    proc = subprocess.run(
        ["nsenter", f"--net={n._namespace()}", str(n.prefix / "bin" / "stormctl"), *args],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def install_with(n: Node, bundle: Path, *args: str) -> Result:
    """install.sh of another bundle, on the same prefix and in the same namespace."""
    n.bundle = bundle
    return n.install(*args)


def every_entry_point(n: Node, user: str, s: Sentinels, upgrade_to: Path) -> None:
    before = s.listing()
    flags = ("--role", "all", "--user", user, "--timeout", "60")

    attack(n, user, s)
    assert_safe(s, before, n.install(*flags))

    attack(n, user, s)
    checked, status = stormctl(n, "check"), stormctl(n, "status")
    assert checked.code == 5 and "privilege boundary  ok" in checked.out, checked
    assert_safe(s, before, checked, status)

    attack(n, user, s)
    upgraded = install_with(n, upgrade_to, *flags, "--upgrade")
    assert "keep the previous install" in upgraded.out + upgraded.err, upgraded
    assert_safe(s, before, upgraded)
    # ZooKeeper's data was copied as the user, into root's hands: no link, nothing of root's.
    copy = n.prefix / "data" / f"zookeeper.before-{ZK_TO}"
    assert (copy / "copy-manifest.json").is_file(), upgraded
    assert "not copied: " in upgraded.err, upgraded  # the planted links
    for path in [copy, *copy.rglob("*")]:
        assert path.lstat().st_uid == 0 and not path.is_symlink(), path
        assert path.is_dir() or SECRET.encode() not in path.read_bytes(), path

    attack(n, user, s)
    rolled = stormctl(n, "rollback", "--timeout", "60")
    assert "roll back" in rolled.err, rolled
    assert_safe(s, before, rolled)

    attack(n, user, s)
    gone = n.run("--uninstall", "--prefix", str(n.prefix))
    assert gone.code == 0, gone
    assert_safe(s, before, gone)

    attack(n, user, s)
    purged = n.run("--uninstall", "--purge", "--prefix", str(n.prefix))
    assert purged.code == 0, purged
    assert not n.prefix.exists(), purged
    assert_safe(s, before, purged)


def bundles(mirror_dir: Path, wheelhouse: Path, where: Path) -> tuple[Path, Path]:
    a = unpack(build_bundle(mirror_dir, wheelhouse, STORM, ZK_FROM), where / "a")
    b = unpack(build_bundle(mirror_dir, wheelhouse, STORM, ZK_TO), where / "b")
    return a, b


def test_the_service_user_cannot_make_root_act_for_it(
    mirror_dir: Path, wheelhouse: Path, sentinels: Sentinels
) -> None:
    where = public_dir("boundary")
    user = f"bpb{os.getpid() % 100000}"
    try:
        a, b = bundles(mirror_dir, wheelhouse, where)
        with node(a, users=[user]) as n:
            first = n.install("--role", "all", "--user", user)
            assert first.code == 0, first
            every_entry_point(n, user, sentinels, b)
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_an_install_of_the_previous_layout_moves_over_safely(
    mirror_dir: Path, wheelhouse: Path, sentinels: Sentinels
) -> None:
    """Installed by the release before the boundary (data/, logs/, run/ the user's), where the
    user planted links at root's log, pid and early-error files and a root PID in its pid file;
    re-installed in place by this release: those are removed, never followed, and the layout
    then holds against the same attacks as a fresh install."""
    where = public_dir("boundary-old")
    user = f"bpo{os.getpid() % 100000}"
    try:
        old = unpack(
            build_bundle(mirror_dir, wheelhouse, STORM, ZK_FROM, source=source_at(PREVIOUS_LAYOUT)),
            where / "old",
        )
        assert not (old / "onhost" / "boundary.py").exists()
        a, b = bundles(mirror_dir, wheelhouse, where)
        with node(old, users=[user]) as n:
            first = n.install("--role", "all", "--user", user)
            assert first.code == 0, first
            p = n.prefix
            assert p.joinpath("run").stat().st_uid == pwd.getpwnam(user).pw_uid
            before = sentinels.listing()
            plant = [
                f'ln -sf "{sentinels.secret}" "{p}/run/supervisord.start-errors"',
                f'echo {sentinels.root_pid} > "{p}/run/supervisord.pid"',
            ] + [
                f'rm -f "{log}"; ln -s "{sentinels.secret}" "{log}"'
                for log in sorted(p.joinpath("logs").glob("storm-*.log"))
            ]
            assert as_user(n, user, "\n".join(plant)).returncode == 0
            moved = install_with(n, a, "--role", "all", "--user", user)
            assert moved.code == 0, moved
            assert "was not this installation's" in moved.err, moved
            assert_safe(sentinels, before, moved)
            for rel in ("data", "logs", "run"):
                assert p.joinpath(rel).stat().st_uid == 0, rel
            assert not [q for q in p.joinpath("logs").iterdir() if q.is_symlink()]
            every_entry_point(n, user, sentinels, b)
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_a_rollback_to_an_install_of_the_flat_package_leaves_a_stormctl_that_runs(
    mirror_dir: Path, wheelhouse: Path
) -> None:
    """Installed by the release whose installer package was flat, upgraded by this one (whose
    package has stage folders), rolled back: the restored package runs, no stage folder of the
    newer one is left to shadow its modules."""
    where = public_dir("flat-package")
    user = f"bfp{os.getpid() % 100000}"
    flags = ("--role", "all", "--user", user, "--timeout", "60")
    try:
        flat = build_bundle(mirror_dir, wheelhouse, STORM, ZK_FROM, source=source_at(FLAT_PACKAGE))
        old = unpack(flat, where / "old")
        _, new = bundles(mirror_dir, wheelhouse, where)
        with node(old, users=[user]) as n:
            assert n.install(*flags).code == 0
            upgraded = install_with(n, new, *flags, "--upgrade")
            assert upgraded.code == 0, upgraded
            lib = n.prefix / "lib" / "onhost"
            assert (lib / "contract" / "contract.py").is_file()
            rolled = stormctl(n, "rollback", "--timeout", "60")
            assert rolled.code == 0, rolled
            assert (lib / "contract.py").is_file()
            assert not [p for p in lib.iterdir() if p.is_dir() and p.name != "templates"], lib
            status = stormctl(n, "status")
            assert status.code == 0 and "zookeeper" in status.out, status
    finally:
        shutil.rmtree(where, ignore_errors=True)
