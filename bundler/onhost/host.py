"""The one place that changes the host: every change is printed and, unless --dry-run, made."""

from __future__ import absolute_import, print_function

import os
import re
import shutil
import stat
import sys

from .errors import InstallError, say
from .system import read_bytes, run, to_bytes

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import (  # noqa: F401
        Any,
        Callable,
        Dict,
        Iterable,
        List,
        Optional,
        Sequence,
        Set,
        Tuple,
        TypeVar,
        Union,
    )


# --- changes: one place that prints them and, unless --dry-run, makes them ---


class Journal(object):
    """Whether any Host of this run changed the host (or, under --dry-run, would have): the
    installer's stable last line says so (`install.sh: changed`), for scripts and playbooks."""

    def __init__(self):
        # type: () -> None
        self.made = 0
        self.planned = 0
        # Set once the flags are accepted: from then on every run ends with the marker.
        self.active = False

    def marker(self):
        # type: () -> str
        if self.made:
            return "install.sh: changed"
        return "install.sh: would change" if self.planned else "install.sh: unchanged"


JOURNAL = Journal()


class Host(object):
    def __init__(self, prefix, dry_run, owner, service, owned=()):
        # type: (str, bool, Tuple[Optional[int], Optional[int]], Tuple[Optional[int], Optional[int]], Iterable[str]) -> None
        self.prefix = prefix
        self.dry_run = dry_run
        self.owner = owner  # (uid, gid) for everything but data/logs/run
        self.service = service  # (uid, gid) for data/logs/run
        self.changed = []  # type: List[str]
        self.removed = set()  # type: Set[str]
        # Folders (relative to prefix) this installer created, earlier or in this run: the
        # only ones whose mode and owner it sets.
        self.owned = set(owned)
        self.created = set()  # type: Set[str]

    def change(self, text):
        # type: (str) -> None
        self.changed.append(text)
        if self.dry_run:
            JOURNAL.planned += 1
        else:
            JOURNAL.made += 1
        if self.dry_run:
            sys.stdout.write("would %s\n" % text)
            sys.stdout.flush()
        else:
            say(text)

    def abs(self, rel):
        # type: (str) -> str
        return os.path.join(self.prefix, *rel.split("/")) if rel else self.prefix

    def ids_for(self, rel):
        # type: (str) -> Tuple[Optional[int], Optional[int]]
        top = rel.split("/", 1)[0]
        return self.service if top in ("data", "logs", "run") else self.owner

    def ensure_dir(self, rel, mode):
        # type: (str, int) -> None
        path = self.abs(rel)
        uid, gid = self.ids_for(rel)
        if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path)):
            raise InstallError("%s exists and is not a folder; move it away and run again" % path)
        if not os.path.isdir(path):
            self.change("create folder %s (mode %04o)" % (path, mode))
            self.created.add(rel)
            self.owned.add(rel)
            if not self.dry_run:
                os.mkdir(path, mode)
                os.chmod(path, mode)
                self._chown(path, uid, gid)
            return
        if rel in self.owned:
            self.fix_meta(path, mode, uid, gid)

    def fix_meta(self, path, mode, uid, gid):
        # type: (str, int, Optional[int], Optional[int]) -> None
        st = os.lstat(path)
        if stat.S_IMODE(st.st_mode) != mode:
            self.change("set mode %04o on %s" % (mode, path))
            if not self.dry_run:
                os.chmod(path, mode)
        if uid is not None and gid is not None and (st.st_uid, st.st_gid) != (uid, gid):
            self.change("set owner %d:%d on %s" % (uid, gid, path))
            if not self.dry_run:
                os.chown(path, uid, gid)

    def _chown(self, path, uid, gid):
        # type: (str, Optional[int], Optional[int]) -> None
        if uid is not None and gid is not None:
            os.lchown(path, uid, gid)

    def write(self, path, data, mode, uid=None, gid=None, show_diff=True):
        # type: (str, Union[str, bytes], int, Optional[int], Optional[int], bool) -> bool
        """Write data to path atomically; the previous content, when different, is kept as
        path.bak. Returns True when the content changed."""
        data = to_bytes(data)
        old = None
        if os.path.lexists(path):
            if os.path.islink(path) or not os.path.isfile(path):
                raise InstallError("%s exists and is not a regular file; move it away" % path)
            old = read_bytes(path)
        if old == data:
            self.fix_meta(path, mode, uid, gid)
            return False
        if old is None:
            self.change("write %s (mode %04o)" % (path, mode))
        else:
            self.change("update %s (previous kept as %s.bak)" % (path, os.path.basename(path)))
            if self.dry_run and show_diff:
                self.show_diff(old, data)
        if self.dry_run:
            return True
        if old is not None:
            self._atomic(path + ".bak", old, stat.S_IMODE(os.stat(path).st_mode), uid, gid)
        self._atomic(path, data, mode, uid, gid)
        return True

    def show_diff(self, old, new):
        # type: (bytes, bytes) -> None
        import difflib

        lines = difflib.unified_diff(
            old.decode("utf-8", "replace").splitlines(),
            new.decode("utf-8", "replace").splitlines(),
            "old",
            "new",
            lineterm="",
            n=1,
        )
        for line in list(lines)[2:]:
            # Hashed passwords stay off the terminal.
            line = re.sub(r"^([-+ ]password=).*", r"\1(hidden)", line)
            sys.stdout.write("    %s\n" % line)

    def _atomic(self, path, data, mode, uid, gid):
        # type: (str, bytes, int, Optional[int], Optional[int]) -> None
        tmp = "%s.%d.tmp" % (path, os.getpid())
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            self._chown(tmp, uid, gid)
            os.rename(tmp, path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    def symlink(self, rel, target):
        # type: (str, str) -> bool
        path = self.abs(rel)
        if os.path.islink(path) and os.readlink(path) == target:
            return False
        if os.path.lexists(path) and not os.path.islink(path):
            raise InstallError("%s exists and is not a symlink; move it away and run again" % path)
        self.change("point %s at %s" % (path, target))
        if not self.dry_run:
            tmp = "%s.%d.tmp" % (path, os.getpid())
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(target, tmp)
            os.rename(tmp, path)
        return True

    def would_be_empty(self, folder):
        # type: (str) -> bool
        """Empty now, or once what was removed (under --dry-run: would be) is gone."""
        return all(os.path.join(folder, name) in self.removed for name in os.listdir(folder))

    def remove(self, path):
        # type: (str) -> None
        if not os.path.lexists(path):
            return
        self.change("remove %s" % path)
        self.removed.add(path)
        if self.dry_run:
            return
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)

    def discard(self, path):
        # type: (str) -> None
        """Remove a scratch path of this run (never shown: it is not part of the plan)."""
        if not self.dry_run and os.path.lexists(path):
            shutil.rmtree(path, ignore_errors=True)

    def swap_in(self, new, path):
        # type: (str, str) -> None
        """Put the folder new in place of path in two renames; the old one is then removed."""
        if self.dry_run:
            return
        old = "%s.old-%d" % (path, os.getpid())
        if os.path.lexists(path):
            os.rename(path, old)
        os.rename(new, path)
        shutil.rmtree(old, ignore_errors=True)

    def signal(self, pid, signum):
        # type: (int, int) -> None
        """Send a signal to a process this installation started (supervisord, its programs)."""
        if self.dry_run:
            return
        try:  # noqa: SIM105 (no contextlib.suppress on Python 2)
            os.kill(pid, signum)
        except OSError:
            pass

    def command(self, text, cmd, timeout=300, env=None):
        # type: (str, List[str], int, Optional[Dict[str, str]]) -> str
        """Run a command as a change; raises InstallError with its output when it fails."""
        self.change(text)
        if self.dry_run:
            return ""
        code, out = run(cmd, timeout=timeout, env=env)
        if code != 0:
            raise InstallError(
                "%s failed (%s):\n%s" % (" ".join(cmd), code if code is not None else "", out)
            )
        return out
