"""install.sh against its own kind and a short filesystem (root, under dash, in a network
namespace): three first runs at one prefix at once (one installs, the others stop at the lock
before any change: no `useradd ... already exists`, no `File exists`); the scratch folder a run
killed half-way leaves is swept by the next run and by --purge; a filesystem with too few
inodes is refused before anything is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.support.bundles import Node, Result, node, public_dir, pyenv_python

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("dash") is None,
    reason="needs root, unshare and dash (network namespaces, service users)",
)

ROLES = ("--role", "zookeeper,nimbus,supervisor")
RUNS = 3


def user_name(tag: str) -> str:
    # Unique per run: tests of other sessions on this machine may run at the same time.
    return f"{tag}{os.getpid() % 100000}{int(time.time() * 1000) % 1000}"


def dead_pid() -> int:
    """The pid of a process that has exited: what a killed run's scratch folder is named by."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_first_runs_at_once_one_installs_the_others_stop_at_the_lock(
    bundle_dir: Path,
) -> None:
    user = user_name("brc")
    with node(bundle_dir, python=pyenv_python("3.13"), users=[user]) as n:
        n.in_netns("true")  # the namespace, before the two runs share it
        results: list[Result] = []

        def run() -> None:
            results.append(n.install(*ROLES, "--user", user, "--no-start"))

        threads = [threading.Thread(target=run) for _ in range(RUNS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = sorted(r.code for r in results)
        assert codes == [0] + [1] * (RUNS - 1), results
        for lost in (r for r in results if r.code == 1):
            said = f"another install.sh is working on {n.prefix}; wait for it to finish"
            assert said in lost.err, lost
            assert lost.out.splitlines()[-1] == "install.sh: unchanged", lost
        again = n.install(*ROLES, "--user", user, "--no-start")
        assert again.code == 0 and again.out.splitlines()[-1] == "install.sh: unchanged", again


def test_a_killed_runs_scratch_is_swept_by_the_next_run_and_by_purge(bundle_dir: Path) -> None:
    user = user_name("bsw")
    with node(bundle_dir, python=pyenv_python("3.13"), users=[user]) as n:
        assert n.install(*ROLES, "--user", user, "--no-start").code == 0

        def plant() -> Path:
            scratch = n.prefix / "python" / f"site.partial-{dead_pid()}"
            (scratch / "supervisor").mkdir(parents=True)
            (scratch / "supervisor" / "__init__.py").write_text("")
            return scratch

        scratch = plant()
        again = n.install(*ROLES, "--user", user, "--no-start")
        assert again.code == 0, again
        assert f"remove {scratch}" in again.out + again.err
        assert not scratch.exists()

        scratch = plant()
        purged = n.run("--uninstall", "--purge", "--prefix", str(n.prefix))
        assert purged.code == 0, purged
        assert not n.prefix.exists(), sorted(p.name for p in n.prefix.rglob("*"))


def test_a_filesystem_with_too_few_inodes_is_refused_before_any_change(
    bundle_dir: Path,
) -> None:
    where = public_dir("inodes")
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512m,nr_inodes=300,mode=0755", "tmpfs", where],
        check=True,
    )
    try:
        n = Node(bundle=bundle_dir, prefix=where / "storm", python=pyenv_python("3.13"))
        try:
            refused = n.install(*ROLES, "--no-start")
        finally:
            n.close()
        assert refused.code == 4, refused
        assert f"{where} has " in refused.err and " inodes free, the installation needs about " in (
            refused.err
        )
        assert list(where.iterdir()) == []
    finally:
        subprocess.run(["umount", where], check=True)
        where.rmdir()
