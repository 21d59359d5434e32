"""The service user: created when missing, as a system user without a login or a home."""

from __future__ import absolute_import, print_function

import os

from ..errors import InstallError, say
from .facts import ids_of
from .system import run, which

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import List  # noqa: F401

    from .host import Host  # noqa: F401


def nologin_shell():
    # type: () -> str
    for shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"):
        if os.path.exists(shell):
            return shell
    return "/bin/false"


def create_user(host, name):
    # type: (Host, str) -> None
    shell = nologin_shell()
    if which("useradd"):
        cmd = ["useradd", "--system", "--user-group", "--no-create-home"]
        cmd += ["--home-dir", "/nonexistent", "--shell", shell, name]
        host.command("create service user %s (useradd --system)" % name, cmd)
        return
    # Debian's adduser, then BusyBox's.
    debian = ["adduser", "--system", "--group", "--no-create-home", "--home", "/nonexistent"]
    debian += ["--shell", shell, name]
    host.change("create service user %s (adduser)" % name)
    if host.dry_run:
        return
    code, out = run(debian)
    if code != 0:
        code, out = run(["adduser", "-S", "-D", "-H", "-h", "/nonexistent", "-s", shell, name])
        if code == 0 and not ids_of(name):
            code = 1
        if code != 0:
            raise InstallError("cannot create user %s with adduser: %s" % (name, out.strip()))


def pids_running_as(uid):
    # type: (int) -> List[int]
    """The processes whose real or effective uid is uid, from /proc (read, never signalled):
    a user another installation has started using meanwhile is not ours to remove."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/status" % name) as handle:
                uids = [line.split()[1:3] for line in handle if line.startswith("Uid:")]
        except (IOError, OSError):
            continue  # gone meanwhile
        if uids and str(uid) in uids[0]:
            found.append(int(name))
    return sorted(found)


def remove_user(host, name):
    # type: (Host, str) -> None
    """userdel (or deluser) for the service user this installer created, unless a process
    still runs as it: then it is kept, and the line says why and how to remove it later."""
    ids = ids_of(name)
    if ids is None:
        return
    busy = pids_running_as(ids[0])
    tool = "userdel" if which("userdel") else "deluser"
    if busy:
        say(
            "kept service user %s: processes still run as it (pid %s), another installation's "
            "perhaps; once none does, remove it with `%s %s`"
            % (name, ", ".join(str(p) for p in busy[:5]), tool, name)
        )
        return
    host.command("remove service user %s" % name, [tool, name])
