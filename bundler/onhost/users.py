"""The service user: created when missing, as a system user without a login or a home."""

from __future__ import absolute_import, print_function

import os

from .errors import InstallError
from .facts import ids_of
from .system import run, which

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
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
