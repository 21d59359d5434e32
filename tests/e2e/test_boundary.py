"""The privilege boundary's primitives (bundler/onhost/host/boundary.py, datacopy.py), as root
against a real unprivileged user who plants links, FIFOs and swapped folders: root never
reads, writes, chmods or deletes through them, and what it does in that user's folder it does
as that user."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.onhost.apply import datacopy
from bundler.onhost.host import boundary
from tests.support.bundles import public_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a real service user)")

SECRET = b"root's secret\n"


@pytest.fixture(scope="module")
def user() -> Iterator[pwd.struct_passwd]:
    name = f"bbd{os.getpid() % 100000}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
    )
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)


@pytest.fixture
def tree(user: pwd.struct_passwd) -> Iterator[dict[str, Path]]:
    """root's prefix (0755) holding the user's folder svc/ (0750) and a root-only sentinel, in
    a folder the user can reach (pytest's own are 0700)."""
    top = public_dir("boundary")
    try:
        yield _tree(top, user)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _tree(tmp_path: Path, user: pwd.struct_passwd) -> dict[str, Path]:
    prefix = tmp_path / "prefix"
    prefix.mkdir(mode=0o755)
    svc = prefix / "svc"
    svc.mkdir()
    os.chown(svc, user.pw_uid, user.pw_gid)
    svc.chmod(0o750)
    vault = tmp_path / "vault"
    vault.mkdir(mode=0o700)
    sentinel = vault / "secret"
    sentinel.write_bytes(SECRET)
    sentinel.chmod(0o600)
    return {"prefix": prefix, "svc": svc, "vault": vault, "sentinel": sentinel}


def as_service(user: pwd.struct_passwd, *cmd: str) -> None:
    """What the hostile service user does: a real process with its ids."""
    subprocess.run(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                    "--clear-groups", *cmd], check=True)  # fmt: skip


def unchanged(sentinel: Path) -> bool:
    st = sentinel.lstat()
    return sentinel.read_bytes() == SECRET and (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)


def test_the_first_folder_root_cannot_trust_is_named(
    tree: dict[str, Path], user: pwd.struct_passwd
) -> None:
    prefix, svc = tree["prefix"], tree["svc"]
    assert boundary.untrusted_folder(str(prefix / "etc.conf")) is None
    assert boundary.untrusted_folder(str(svc)) is None  # the folder itself is in root's prefix
    found = (str(svc), user.pw_uid, user.pw_gid)
    assert boundary.untrusted_folder(str(svc / "myid")) == found
    assert boundary.untrusted_folder(str(svc / "a" / "b")) == found
    # A link root made in its own folder is followed, and what it leads into is judged.
    (prefix / "into").symlink_to("svc")
    assert boundary.untrusted_folder(str(prefix / "into" / "myid")) == found
    # A folder of root's that others may write: no one to act as, refused with the fix.
    (prefix / "open").mkdir()
    (prefix / "open").chmod(0o777)
    with pytest.raises(boundary.Untrusted, match="chmod go-w"):
        boundary.read(str(prefix / "open" / "x"))
    # A sticky folder: root's entries in it are trusted, others' are not.
    (prefix / "sticky").mkdir()
    (prefix / "sticky").chmod(0o1777)
    (prefix / "sticky" / "mine").mkdir()
    assert boundary.untrusted_folder(str(prefix / "sticky" / "mine" / "x")) is None


def test_work_in_the_users_folder_runs_with_the_users_ids_only(
    tree: dict[str, Path], user: pwd.struct_passwd
) -> None:
    def ids() -> bytes:
        return json.dumps([os.getuid(), os.geteuid(), os.getgid(), os.getgroups()]).encode()

    found = boundary.as_user((user.pw_uid, user.pw_gid), ids)
    assert json.loads(found or b"") == [user.pw_uid, user.pw_uid, user.pw_gid, []]
    assert os.geteuid() == 0  # the parent keeps its own


@pytest.mark.parametrize("plant", ["link", "hardlink-free fifo", "swapped folder"])
def test_root_reads_nothing_through_what_the_user_planted(
    tree: dict[str, Path], user: pwd.struct_passwd, plant: str
) -> None:
    svc, sentinel = tree["svc"], tree["sentinel"]
    if plant == "link":
        as_service(user, "ln", "-s", str(sentinel), str(svc / "myid"))
        target = svc / "myid"
    elif plant == "swapped folder":
        as_service(user, "ln", "-s", str(tree["vault"]), str(svc / "version-2"))
        target = svc / "version-2" / "secret"
    else:
        as_service(user, "mkfifo", str(svc / "myid"))
        target = svc / "myid"
    result: list[object] = []

    def read() -> None:
        try:
            result.append(boundary.read(str(target)))
        except OSError as exc:
            result.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(20)
    assert not reader.is_alive(), "a read blocked on what the user planted"
    (got,) = result
    assert isinstance(got, OSError), got
    assert got.errno in (errno.ELOOP, errno.EINVAL, errno.EACCES), got
    assert SECRET.decode() not in str(got)
    assert unchanged(sentinel)


def test_the_users_own_file_is_read_as_the_user(
    tree: dict[str, Path], user: pwd.struct_passwd
) -> None:
    as_service(user, "sh", "-c", f"echo 3 > {tree['svc']}/myid")
    assert boundary.read(str(tree["svc"] / "myid")) == b"3\n"
    assert boundary.tail(str(tree["svc"] / "myid"), 1) == b"\n"
    assert boundary.listdir(str(tree["svc"])) == ["myid"]


def test_a_write_replaces_a_planted_link_and_never_follows_it(
    tree: dict[str, Path], user: pwd.struct_passwd
) -> None:
    svc, sentinel = tree["svc"], tree["sentinel"]
    as_service(user, "ln", "-s", str(sentinel), str(svc / "myid"))
    # The temporary names a writer might use, planted too.
    for n in range(os.getpid(), os.getpid() + 3):
        as_service(user, "ln", "-s", str(sentinel), str(svc / f"myid.{n}.tmp"))
    boundary.write(str(svc / "myid"), b"2\n", 0o644, 0, 0)
    st = (svc / "myid").lstat()
    assert stat.S_ISREG(st.st_mode) and (svc / "myid").read_bytes() == b"2\n"
    # Written by the user, as its own: root gave nothing away.
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (user.pw_uid, 0o644)
    assert unchanged(sentinel)


def test_a_new_file_in_the_users_folder_is_the_users(
    tree: dict[str, Path], user: pwd.struct_passwd
) -> None:
    boundary.write(str(tree["svc"] / "new"), b"1\n", 0o640, 0, 0)
    st = (tree["svc"] / "new").lstat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (user.pw_uid, user.pw_gid, 0o640)
    boundary.mkdir(str(tree["svc"] / "sub"), 0o750)
    assert (tree["svc"] / "sub").lstat().st_uid == user.pw_uid
    assert boundary.untrusted_folder(str(tree["svc"] / "missing" / "x")) == (
        str(tree["svc"]), user.pw_uid, user.pw_gid)  # fmt: skip
    assert boundary.untrusted_folder("/tmp/bundler-no-such-name") is None


def test_mode_changes_refuse_a_link(tree: dict[str, Path], user: pwd.struct_passwd) -> None:
    svc, sentinel = tree["svc"], tree["sentinel"]
    as_service(user, "ln", "-s", str(sentinel), str(svc / "myid"))
    with pytest.raises(OSError, match="is a link"):
        boundary.set_meta(str(svc / "myid"), 0o644, 0, 0)
    (tree["prefix"] / "rootlink").symlink_to(sentinel)
    with pytest.raises(OSError, match="is a link"):
        boundary.set_meta(str(tree["prefix"] / "rootlink"), 0o644, user.pw_uid, user.pw_gid)
    assert unchanged(sentinel)


def test_removing_the_users_tree_removes_only_what_is_in_it(
    tree: dict[str, Path], user: pwd.struct_passwd
) -> None:
    svc, vault, sentinel = tree["svc"], tree["vault"], tree["sentinel"]
    as_service(user, "mkdir", "-p", str(svc / "version-2"))
    as_service(user, "sh", "-c", f"echo x > {svc}/version-2/log.1")
    as_service(user, "ln", "-s", str(vault), str(svc / "swapped"))
    as_service(user, "ln", "-s", str(sentinel), str(svc / "myid"))
    boundary.remove(str(svc))
    assert not svc.exists()
    assert unchanged(sentinel) and os.listdir(vault) == ["secret"]


def test_a_data_copy_is_root_s_complete_and_follows_no_link(
    tree: dict[str, Path], user: pwd.struct_passwd
) -> None:
    svc, sentinel = tree["svc"], tree["sentinel"]
    as_service(user, "mkdir", "-p", str(svc / "version-2"))
    as_service(user, "sh", "-c", f"head -c 3000000 /dev/urandom > {svc}/version-2/log.1")
    as_service(user, "sh", "-c", f"echo 1 > {svc}/myid")
    as_service(user, "ln", "-s", str(sentinel), str(svc / "version-2" / "snapshot.1"))
    as_service(user, "ln", "-s", str(tree["vault"]), str(svc / "sub"))
    dest = tree["prefix"] / "copy"
    found = datacopy.take(str(svc), str(dest), {"release": "3.4.14"})
    assert sorted(found["files"]) == ["myid", "version-2/log.1"]
    assert found["skipped"] == ["sub", "version-2/snapshot.1"]
    log = (svc / "version-2" / "log.1").read_bytes()
    assert found["files"]["version-2/log.1"] == {
        "size": 3000000,
        "sha256": hashlib.sha256(log).hexdigest(),
    }
    assert (dest / "version-2" / "log.1").read_bytes() == log
    for path in [dest, *dest.rglob("*")]:
        assert path.lstat().st_uid == 0 and not path.is_symlink(), path
    assert datacopy.manifest_of(str(dest)) == found
    assert SECRET not in b"".join(p.read_bytes() for p in dest.rglob("*") if p.is_file())
    assert unchanged(sentinel)
    # The log's preallocated zeros stay holes; a second copy replaces the first only whole,
    # and nothing half-made is left beside it.
    as_service(user, "truncate", "-s", "64M", str(svc / "version-2" / "log.1"))
    again = datacopy.take(str(svc), str(dest), {"release": "3.4.14"})
    copied = dest / "version-2" / "log.1"
    assert again["files"]["version-2/log.1"]["size"] == copied.stat().st_size == 64 << 20
    assert copied.stat().st_blocks * 512 < 8 << 20, "the zeros were written out"
    assert datacopy.verify(str(dest)) == (again, [])
    assert sorted(os.listdir(tree["prefix"])) == ["copy", "svc"]
    # A changed file is named by verify.
    copied.chmod(0o600)
    with copied.open("r+b") as handle:
        handle.write(b"X")
    assert datacopy.verify(str(dest))[1] == ["version-2/log.1: differs from the manifest"]
