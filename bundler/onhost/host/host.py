"""The one place that changes the host: every change is printed and, unless --dry-run, made."""

from __future__ import absolute_import, print_function

import os
import re
import stat
import sys

from ..errors import InstallError, say
from . import boundary
from .ownership import is_service
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
        self.owner = owner  # (uid, gid) for everything but the service folders
        self.service = service  # (uid, gid) for ownership.SERVICE_DIRS
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
        return self.service if is_service(rel) else self.owner

    def ensure_dir(self, rel, mode):
        # type: (str, int) -> None
        path = self.abs(rel)
        uid, gid = self.ids_for(rel)
        st = boundary.lstat(path)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise InstallError(
                "%s exists and is not a folder (%s); nothing was written through it. Move it "
                "away and run again" % (path, "a link" if stat.S_ISLNK(st.st_mode) else "a file")
            )
        if st is None:
            self.change("create folder %s (mode %04o)" % (path, mode))
            self.created.add(rel)
            self.owned.add(rel)
            if not self.dry_run:
                boundary.mkdir(path, mode)
                boundary.set_meta(path, mode, uid, gid, "folder")
            return
        if rel in self.owned:
            self.fix_meta(path, mode, uid, gid, "folder")

    def fix_meta(self, path, mode, uid, gid, kind="file"):
        # type: (str, int, Optional[int], Optional[int], str) -> None
        """Mode and owner of path as given, set through a descriptor (a link is an error)."""
        st = boundary.lstat(path)
        if st is None:
            return
        if stat.S_ISLNK(st.st_mode):
            raise InstallError(
                "%s is a link, expected a %s; nothing was changed through it. Move it away and "
                "run again" % (path, kind)
            )
        moded = stat.S_IMODE(st.st_mode) != mode
        owned = uid is not None and gid is not None and (st.st_uid, st.st_gid) != (uid, gid)
        if boundary.untrusted_folder(path) is not None:
            owned = False  # in the service user's folder: the user's own, as it wrote it
        if moded:
            self.change("set mode %04o on %s" % (mode, path))
        if owned:
            self.change("set owner %s:%s on %s" % (uid, gid, path))
        if (moded or owned) and not self.dry_run:
            boundary.set_meta(path, mode, uid, gid, kind)

    def write(self, path, data, mode, uid=None, gid=None, show_diff=True):
        # type: (str, Union[str, bytes], int, Optional[int], Optional[int], bool) -> bool
        """Write data to path atomically; the previous content, when different, is kept as
        path.bak. Returns True when the content changed."""
        data = to_bytes(data)
        old = None
        st = boundary.lstat(path)
        if st is not None and not stat.S_ISREG(st.st_mode) and boundary.untrusted_folder(path):
            # In the service user's folder the user may put anything; written anew as that
            # user, the link is replaced and what it points at is never touched.
            say("warning: %s is not a regular file (a link?) in the service user's folder: "
                "written anew as that user, nothing followed" % path)  # fmt: skip
            st = None
        if st is not None:
            if not stat.S_ISREG(st.st_mode):
                raise InstallError(
                    "%s exists and is not a regular file (%s); nothing was written through it. "
                    "Move it away and run again"
                    % (path, "a link" if stat.S_ISLNK(st.st_mode) else "not a file")
                )
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
            self._atomic(path + ".bak", old, stat.S_IMODE(st.st_mode), uid, gid)  # type: ignore[union-attr]
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
        """A new file renamed over path (as the service user in its folders: boundary.py)."""
        boundary.write(path, data, mode, uid, gid)

    def symlink(self, rel, target):
        # type: (str, str) -> bool
        path = self.abs(rel)
        if os.path.islink(path) and os.readlink(path) == target:
            return False
        if os.path.lexists(path) and not os.path.islink(path):
            raise InstallError("%s exists and is not a symlink; move it away and run again" % path)
        if boundary.untrusted_folder(path) is not None:
            raise InstallError("%s: its folder is not root's; no link is made there" % path)
        self.change("point %s at %s" % (path, target))
        if not self.dry_run:
            tmp = "%s.%d.tmp" % (path, os.getpid())
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(target, tmp)
            os.rename(tmp, path)
        return True

    def clear_planted(self, folders, paths):
        # type: (Iterable[str], Iterable[str]) -> None
        """Make root's folders safe to write in again. Layouts before the privilege boundary
        gave data/, logs/ and run/ to the service user, who may have left links there for
        root to write through: once those folders are root's (ensure_dir), remove every link
        in them, and at each path root writes (supervisord's logs, pid file, socket) anything
        but root's own file or socket with one name. A link is removed, never followed."""
        planted = set()  # type: Set[str]
        for rel in folders:
            folder = self.abs(rel)
            st = boundary.lstat(folder)
            if st is None or not stat.S_ISDIR(st.st_mode):
                continue
            for name in boundary.listdir(folder):
                path = os.path.join(folder, name)
                if stat.S_ISLNK(os.lstat(path).st_mode):
                    planted.add(path)
        for path in paths:
            st = boundary.lstat(path)
            if st is None or boundary.untrusted_folder(path) is not None:
                continue
            kind_ok = stat.S_ISREG(st.st_mode) or stat.S_ISSOCK(st.st_mode)
            if not (kind_ok and st.st_uid == os.geteuid() and st.st_nlink == 1):
                planted.add(path)
        for path in sorted(planted):
            self.remove(path)
            say(
                "warning: %s was not this installation's (a link, another owner or a hard link, "
                "left while the service user owned its folder): removed, nothing followed" % path
            )

    def would_be_empty(self, folder):
        # type: (str) -> bool
        """Empty now, or once what was removed (under --dry-run: would be) is gone."""
        names = boundary.listdir(folder)
        return all(os.path.join(folder, name) in self.removed for name in names)

    def remove(self, path):
        # type: (str) -> None
        """Remove a file, link or folder; in the service user's folders as that user, and a
        link itself, never what it points at (boundary.py)."""
        if boundary.lstat(path) is None:
            return
        self.change("remove %s" % path)
        self.removed.add(path)
        if self.dry_run:
            return
        failed = None
        try:
            boundary.remove(path)
        except (IOError, OSError) as exc:
            failed = exc
        if failed is not None:
            raise InstallError(
                "could not remove %s: %s (%s); in the service user's folders removal is done as "
                "that user, who cannot remove what is not theirs: remove it by hand, then run "
                "again" % (path, failed.strerror, failed.filename or path)
            )

    def discard(self, path):
        # type: (str) -> None
        """Remove a scratch path of this run (never shown: it is not part of the plan)."""
        if not self.dry_run and boundary.lstat(path) is not None:
            try:  # noqa: SIM105 (no contextlib.suppress on Python 2)
                boundary.remove(path)
            except (IOError, OSError, boundary.Untrusted):
                pass

    def swap_in(self, new, path):
        # type: (str, str) -> None
        """Put the folder new in place of path in two renames; the old one is then removed."""
        if self.dry_run:
            return
        old = "%s.old-%d" % (path, os.getpid())
        if os.path.lexists(path):
            os.rename(path, old)
        os.rename(new, path)
        if boundary.lstat(old) is not None:
            boundary.remove(old)

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
