"""What this installer may touch: which prefixes it refuses, which paths of a prefix are its own
(recorded in state/installed.json as it creates them), and what --purge may remove. The rule:
own what it creates, and only that."""

from __future__ import absolute_import, print_function

import os
import posixpath
import pwd
import stat

from ..errors import UsageError
from . import boundary

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union  # noqa: F401


# Folders of the system itself: never a prefix, whether they are empty or not.
SYSTEM_DIRS = frozenset(
    """/ /bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /media /mnt /opt /proc /root /run
    /sbin /snap /srv /sys /tmp /usr /usr/bin /usr/lib /usr/lib64 /usr/local /usr/local/bin
    /usr/local/lib /usr/sbin /usr/share /usr/src /var /var/cache /var/lib /var/log /var/opt
    /var/run /var/spool /var/tmp /nonexistent""".split()  # noqa: SIM905
)

# The installer package's folders (its stages and templates), copied under lib/onhost.
ONHOST_FOLDERS = ("templates", "contract", "render", "host", "bundle", "plan", "apply", "operate")

# The folders of an installation, parents first, with their modes.
PREFIX_DIRS = (
    (
        ("", 0o755),
        ("releases", 0o755),
        ("python", 0o755),
        ("etc", 0o755),
        ("etc/zookeeper", 0o755),
        ("etc/storm", 0o755),
        ("etc/systemd", 0o755),
        ("bin", 0o755),
        # The installer's own package, for bin/stormctl status|check|rollback (selfcopy.py).
        ("lib", 0o755),
        ("lib/onhost", 0o755),
        # The bundle's example topology, for `stormctl smoke` (apply/smokejar.py).
        ("lib/smoke", 0o755),
    )
    + tuple(("lib/onhost/" + sub, 0o755) for sub in ONHOST_FOLDERS)
    + (
        ("state", 0o700),
        ("data", 0o755),
        ("data/zookeeper", 0o750),
        ("data/storm", 0o750),
        ("logs", 0o755),
        ("logs/storm", 0o755),
        ("logs/zookeeper", 0o755),
        ("run", 0o700),
    )
)

# The privilege boundary: the only folders the service user owns, for what the daemons write
# themselves (ZooKeeper's data, Storm's local dir, their own log files). Everything root opens,
# writes or signals (supervisord's socket, pid file and logs, each program's stdout log, the
# state) is in root's folders, where the service user cannot put a link (boundary.py).
SERVICE_DIRS = ("data/zookeeper", "data/storm", "logs/storm", "logs/zookeeper")

# Folders whose content is the installation's (ZooKeeper's snapshots, Storm's local dir and
# logs, supervisord's socket), so --purge removes them whole when this installer created them.
SERVICE_TREES = SERVICE_DIRS + ("run",)


def is_service(rel):
    # type: (str) -> bool
    """Whether rel (relative to the prefix) is the service user's: one of SERVICE_DIRS or in
    one."""
    return any(rel == d or rel.startswith(d + "/") for d in SERVICE_DIRS)


# How many rotated copies of a log supervisord may keep (stdout_logfile_backups and more).
LOG_BACKUPS = 20


def home_dirs():
    # type: () -> Set[str]
    """Every home folder of this host's user table, and this user's own."""
    homes = set([os.path.expanduser("~")])
    try:  # noqa: SIM105 (no contextlib.suppress on Python 2)
        homes.update(entry.pw_dir for entry in pwd.getpwall())
    except (KeyError, OSError):
        pass
    return set(os.path.normpath(h) for h in homes if h and h.startswith("/"))


def prefix_problem(prefix, homes, listing, state):
    # type: (str, Set[str], Union[None, bool, List[str]], Optional[Dict[str, Any]]) -> Optional[str]
    """Why prefix cannot be installed into, or None. Pure: homes is home_dirs(), listing the
    names in prefix (None when it does not exist, False when it is not a folder), state its
    state/installed.json (None when there is none)."""
    prefix = posixpath.normpath(prefix)
    fix = "fix: choose a new or empty folder with --prefix, e.g. /opt/storm"
    if prefix in SYSTEM_DIRS:
        return "--prefix %s: %s is a system folder, never an installation's; %s" % (
            prefix,
            prefix,
            fix,
        )
    if prefix in homes:
        return "--prefix %s: %s is a home folder, never an installation's; %s" % (
            prefix,
            prefix,
            fix.replace("/opt/storm", prefix.rstrip("/") + "/storm"),
        )
    if listing is False:
        return "--prefix %s: %s exists and is not a folder; %s" % (prefix, prefix, fix)
    if isinstance(listing, list) and listing and not (state and state.get("prefix") == prefix):
        return (
            "--prefix %s: %s exists, is not empty and is not an installation of this installer "
            "(no state/installed.json of its own: found %s); %s"
            % (
                prefix,
                prefix,
                ", ".join(sorted(listing)[:3]) + (", ..." if len(listing) > 3 else ""),
                fix,
            )
        )
    return None


def listing_of(prefix):
    # type: (str) -> Union[None, bool, List[str]]
    """The names in prefix; None when it does not exist, False when it is not a folder."""
    if not os.path.lexists(prefix):
        return None
    if os.path.islink(prefix) or not os.path.isdir(prefix):
        return False
    return boundary.listdir(prefix)


def check_prefix(prefix, state):
    # type: (str, Optional[Dict[str, Any]]) -> None
    """Raises UsageError (exit 2) for a prefix this installer must not touch."""
    problem = prefix_problem(prefix, home_dirs(), listing_of(prefix), state)
    if problem:
        raise UsageError(problem)


def created_before(state):
    # type: (Optional[Dict[str, Any]]) -> Set[str]
    """The folders (relative to the prefix) an earlier run of this installer created. A record
    written before folders were recorded: every folder of the layout that exists was made by
    that run (it refused nothing then, but it also never ran over a foreign folder in tests)."""
    if not state:
        return set()
    if "created" in state:
        return set(state["created"])
    prefix = state.get("prefix") or ""
    return set(rel for rel, _ in PREFIX_DIRS if os.path.isdir(os.path.join(prefix, rel)))


def log_files(conf):
    # type: (Dict[str, Dict[str, str]]) -> List[str]
    """The log files supervisord writes for this installation, relative to the prefix, from the
    parsed supervisord.conf (its own log and each program's)."""
    found = []
    for section, values in conf.items():
        key = "logfile" if section == "supervisord" else "stdout_logfile"
        if section == "supervisord" or section.startswith("program:"):
            path = values.get(key)
            if path:
                found.append(path)
    return sorted(found)


# Files supervisord (root) opens or creates in run/.
RUN_FILES = ("run/supervisord.sock", "run/supervisord.pid", "run/supervisord.start-errors")
# Folders of root's that earlier layouts gave to the service user.
ONCE_SERVICE = ("data", "logs", "run")


def root_written(state):
    # type: (Dict[str, Any]) -> List[str]
    """Absolute paths root writes in its own folders: supervisord's logs with their rotated
    copies, its pid file, socket and early errors."""
    prefix = state.get("prefix") or ""
    paths = [os.path.join(prefix, rel) for rel in RUN_FILES]
    for log in state.get("logs", []):
        paths += [log] + ["%s.%d" % (log, n) for n in range(1, LOG_BACKUPS + 1)]
    return paths


def layout_problems(prefix, state):
    # type: (str, Dict[str, Any]) -> List[str]
    """Where the privilege boundary does not hold at prefix: a folder of root's that is not
    root's alone, a service folder that is a link or another user's, a file root writes that
    is not root's own. Empty when it holds, or when not run as root (nothing to split)."""
    if os.geteuid() != 0:
        return []
    problems = []
    user = state.get("user")
    try:
        service = pwd.getpwnam(user).pw_uid if user else None
    except KeyError:
        service = None
    for rel, _ in PREFIX_DIRS:
        path = os.path.join(prefix, *rel.split("/")) if rel else prefix
        st = boundary.lstat(path)
        if st is None:
            continue
        if not stat.S_ISDIR(st.st_mode):
            problems.append("%s is not a folder (a link?)" % path)
        elif rel in SERVICE_DIRS:
            if service is not None and st.st_uid != service:
                problems.append("%s is not the service user %s's" % (path, user))
        elif st.st_uid != 0 or st.st_mode & 0o022:
            problems.append(
                "%s is not root's alone (owner %d, mode %04o): the service user could make "
                "root act through it; run install.sh again to restore the layout"
                % (path, st.st_uid, stat.S_IMODE(st.st_mode))
            )
    for path in root_written(state):
        st = boundary.lstat(path)
        if st is None or boundary.untrusted_folder(path) is not None:
            continue
        if stat.S_ISLNK(st.st_mode) or st.st_uid != 0 or st.st_nlink != 1:
            problems.append(
                "%s is not root's own file (a link, another owner or a hard link)" % path
            )
    return problems


def purge_paths(state):
    # type: (Dict[str, Any]) -> List[str]
    """Absolute paths --purge removes beyond the installation itself: the daemons' folders this
    installer created, and the log files it configured with their rotated copies."""
    prefix = state.get("prefix") or ""
    created = created_before(state)
    paths = [os.path.join(prefix, rel) for rel in SERVICE_TREES if rel in created]
    # Copies of ZooKeeper's data taken before upgrades (previous.py): the installer made them.
    paths += [os.path.join(prefix, rel) for rel in state.get("zk_data_copies", [])]
    for log in state.get("logs", []):
        paths.append(log)
        paths += ["%s.%d" % (log, n) for n in range(1, LOG_BACKUPS + 1)]
    return paths
