"""Host facts: probes only (users, Java, Pythons, memory, ports, addresses, disk); nothing here
changes the host."""

from __future__ import absolute_import, print_function

import binascii
import errno
import grp
import os
import platform
import pwd
import socket
import sys

from ..contract import archive, cluster
from ..contract.versions import parse_java_version, version_tuple
from ..sha256check import digest as sha256_file
from . import boundary, health, ownership
from .processes import supervisord_pid
from .state import load_state
from .system import run, which

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Set, Tuple, Union  # noqa: F401

JAVA_DIRS = ("/usr/lib/jvm", "/usr/java", "/usr/local/java", "/opt/java", "/opt")
LAUNCHER_PYTHONS = ("python3", "python", "python2", "python2.7")
LAUNCHER_PYTHON_PATHS = ("/usr/bin/python3", "/usr/local/bin/python3", "/usr/bin/python2")


# --- the host ---


def default_prefix(root):
    # type: (bool) -> str
    return "/opt/storm" if root else os.path.join(os.path.expanduser("~"), "storm")


def current_user():
    # type: () -> str
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def memory_mb():
    # type: () -> int
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (IOError, OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    except (ValueError, OSError, AttributeError):
        return 1024


def java_version(java):
    # type: (str) -> Tuple[Optional[int], Optional[List[str]]]
    """(major version, None) of a java binary, or (None, reason)."""
    code, out = run([java, "-version"], timeout=60)
    if code != 0:
        return None, (out or "").strip().splitlines()[-1:] or ["exit %s" % code]
    major = parse_java_version(out)
    if major is None:
        return None, ["no version in: %s" % out.strip()[:200]]
    return major, None


def java_candidates():
    # type: () -> List[Tuple[str, int]]
    """Other Java homes on this host, to suggest a fix: [(home, major)]."""
    found = []
    for base in JAVA_DIRS:
        try:
            names = sorted(os.listdir(base))
        except OSError:
            continue
        for name in names:
            home = os.path.join(base, name)
            java = os.path.join(home, "bin", "java")
            if os.path.islink(home) or not os.access(java, os.X_OK):
                continue
            major, _ = java_version(java)
            if major:
                found.append((home, major))
    return found


def describe_range(low, high):
    # type: (Optional[int], Optional[int]) -> str
    if low and high:
        return "Java %d to %d" % (low, high)
    if low:
        return "Java %d or later" % low
    return "any Java"


# Java releases that distributions package for years: the ones worth suggesting.
LTS_JAVAS = (8, 11, 17, 21, 25)


def suggested_java(low, high):
    # type: (Optional[int], Optional[int]) -> int
    """A long-term-support Java within [low, high]: the newest below a cap, else 17 or the
    first after it."""
    fitting = [v for v in LTS_JAVAS if (not low or v >= low) and (not high or v <= high)]
    if not fitting:
        return high or low or 17
    if high:
        return fitting[-1]
    return next((v for v in fitting if v >= 17), fitting[-1])


def find_java(env, low, high, needs):
    # type: (Dict[str, str], Optional[int], Optional[int], str) -> Tuple[Optional[str], Optional[int], Optional[str]]
    """(java_home, major, problem). JAVA_HOME wins; then `java` on PATH."""

    def fits(major):
        # type: (int) -> bool
        return (not low or major >= low) and (not high or major <= high)

    def fix(found):
        # type: (Optional[str]) -> str
        others = [(h, m) for h, m in java_candidates() if fits(m) and h != found]
        if others:
            home, major = others[0]
            return "run with JAVA_HOME=%s (Java %d) set" % (home, major)
        lts = suggested_java(low, high)
        return (
            "install %s (e.g. apt-get install openjdk-%d-jre-headless, dnf install "
            "java-%d-openjdk-headless) and set JAVA_HOME, or build the bundle with --jdk"
            % (describe_range(low, high), lts, lts)
        )

    java_home = env.get("JAVA_HOME")
    if java_home:
        java = os.path.join(java_home, "bin", "java")
        if not os.access(java, os.X_OK):
            return (
                None,
                None,
                "JAVA_HOME=%s has no bin/java; fix: %s, or unset JAVA_HOME to use the java on "
                "PATH" % (java_home, fix(None)),
            )
        where = "JAVA_HOME=%s" % java_home
    else:
        found = which("java", env.get("PATH", ""))
        if not found:
            return (
                None,
                None,
                "no Java: JAVA_HOME is not set and no java on PATH; fix: " + fix(None),
            )
        java = found
        java_home = os.path.dirname(os.path.dirname(os.path.realpath(java)))
        where = "%s (on PATH)" % java
    major, reason = java_version(java)
    if not major:
        said = " ".join(reason or [])
        return None, None, "%s does not run: %s; fix: %s" % (java, said, fix(java_home))
    if not fits(major):
        return (
            None,
            None,
            "%s is Java %d; %s need %s; fix: %s"
            % (where, major, needs, describe_range(low, high), fix(java_home)),
        )
    return java_home, major, None


def python_info(python):
    # type: (str) -> Optional[Tuple[str, Tuple[int, ...]]]
    """(sys.executable, version tuple) of an interpreter, or None when it does not run."""
    code, out = run(
        [
            python,
            "-E",
            "-S",
            "-c",
            "import sys; sys.stdout.write(sys.executable + '\\n' + "
            "'.'.join(map(str, sys.version_info[:3])))",
        ],
        timeout=30,
    )
    if code != 0:
        return None
    lines = out.strip().splitlines()
    if len(lines) != 2 or not lines[0].startswith("/"):
        return None
    return lines[0], version_tuple(lines[1])


def ids_of(user):
    # type: (str) -> Optional[Tuple[int, List[int]]]
    """(uid, [gids]) of an existing user, None when it does not exist."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    gids = set([entry.pw_gid])
    for group in grp.getgrall():
        if user in group.gr_mem:
            gids.add(group.gr_gid)
    return entry.pw_uid, sorted(gids)


def reachable(path, ids, want=os.X_OK):
    # type: (str, Optional[Tuple[int, List[int]]], int) -> Optional[str]
    """The first folder or file on the way to path that the user cannot pass (or, for path
    itself, use with `want`), None when all is well. ids None: a user still to be created,
    which owns nothing and is in no group."""
    if ids is not None and ids[0] == 0:
        return None
    uid, gids = ids if ids is not None else (None, [])
    path = os.path.abspath(path)
    parts = path.split("/")
    for i in range(2, len(parts) + 1):
        current = "/".join(parts[:i]) or "/"
        try:
            st = os.stat(current)
        except OSError:
            return None  # to be created by the installer
        bits = want if current == path else os.X_OK
        if uid is not None and st.st_uid == uid:
            mask = bits << 6
        elif st.st_gid in gids:
            mask = bits << 3
        else:
            mask = bits
        if st.st_mode & mask != mask:
            return current
    return None


def listening_owner(port):
    # type: (int) -> Optional[str]
    """'pid N (cmd)' of the process listening on a TCP port, best effort (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except (IOError, OSError, StopIteration, ValueError, IndexError):
            continue
    if not inodes:
        return None
    wanted = set("socket:[%s]" % i for i in inodes)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) in wanted:
                    with open("/proc/%s/cmdline" % pid, "rb") as handle:
                        cmd = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
                    return "pid %s (%s)" % (pid, cmd.strip()[:80])
            except (OSError, IOError):
                continue
    return None


def port_problem(port, address="0.0.0.0"):
    # type: (int, str) -> Optional[str]
    """None when a TCP port can be bound on address, else why not."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except socket.error as exc:
        if exc.errno == errno.EADDRINUSE:
            owner = listening_owner(port)
            return "in use" + (" by %s" % owner if owner else "")
        return str(exc)
    finally:
        sock.close()
    return None


def is_local_address(host):
    # type: (str) -> bool
    """True when host names this machine (loopback, or an address a socket can bind)."""
    if host in ("localhost", "::1") or host.startswith("127."):
        return True
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.error:
        return False
    for info in infos:
        address = str(info[4][0])
        if address.startswith("127."):
            return True
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((address, 0))
            return True
        except socket.error:
            continue
        finally:
            sock.close()
    return False


def systemd_running():
    # type: () -> bool
    return os.path.isdir("/run/systemd/system")


def free_bytes(path):
    # type: (str) -> int
    while not os.path.exists(path):
        path = os.path.dirname(path)
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def free_inodes(path):
    # type: (str) -> Optional[int]
    """Inodes free for an unprivileged user where path is (or would be); None on a filesystem
    with no fixed number of them (btrfs and others report 0)."""
    st = os.statvfs(nearest_existing(path))
    return st.f_favail if st.f_files else None


def nearest_existing(path):
    # type: (str) -> str
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


# --- the one interface the plan asks the host through ---


class HostFacts(object):
    """Every question plan.py asks about this host, answered by probing it. The plan asks
    nothing else of the host, so that tests hand it recorded answers instead (see
    tests/unit/test_plan.py) and a plan is computed without root, network or processes."""

    def __init__(self, env):
        # type: (Dict[str, str]) -> None
        self.env = env
        self.root = os.geteuid() == 0
        self.user = current_user()
        self.python = sys.executable
        self.python_version = platform.python_version()
        self.version_info = tuple(sys.version_info[:3])  # type: Tuple[int, ...]

    # this host's name, addresses and services

    def identify(self, inventory):
        # type: (Dict[str, Any]) -> Tuple[Dict[str, Any], str]
        found = cluster.identify(inventory)  # type: Tuple[Dict[str, Any], str]
        return found

    def is_local(self, host):
        # type: (str) -> bool
        return is_local_address(host)

    def fqdn(self):
        # type: () -> str
        return socket.getfqdn()

    def systemd_running(self):
        # type: () -> bool
        return systemd_running()

    def memory_mb(self):
        # type: () -> int
        return memory_mb()

    def supervisord_running(self, socket_path):
        # type: (str) -> bool
        """Whether this installation's supervisord runs: it answers on its socket, or (a
        socket root does not trust, in an earlier layout's run/) its pid file names a process
        that is provably it."""
        if health.supervisord_state(socket_path) is not None:
            return True
        prefix = os.path.dirname(os.path.dirname(socket_path))
        pidfile = os.path.join(prefix, "run", "supervisord.pid")
        conf = os.path.join(prefix, "etc", "supervisord.conf")
        return supervisord_pid(pidfile, conf) is not None

    def port_problem(self, port):
        # type: (int) -> Optional[str]
        return port_problem(port)

    # users, programs and files

    def home_dirs(self):
        # type: () -> Set[str]
        return ownership.home_dirs()

    def user_ids(self, user):
        # type: (str) -> Optional[Tuple[int, List[int]]]
        return ids_of(user)

    def reachable(self, path, ids):
        # type: (str, Optional[Tuple[int, List[int]]]) -> Optional[str]
        return reachable(path, ids)

    def mode(self, path):
        # type: (str) -> int
        return os.stat(path).st_mode & 0o7777

    def which(self, name, path=None):
        # type: (str, Optional[str]) -> Optional[str]
        return which(name, path)

    def exists(self, path):
        # type: (str) -> bool
        return os.path.exists(path)

    def is_file(self, path):
        # type: (str) -> bool
        return os.path.isfile(path)

    def is_dir(self, path):
        # type: (str) -> bool
        return os.path.isdir(path)

    def size(self, path):
        # type: (str) -> int
        return os.path.getsize(path)

    def sha256(self, path):
        # type: (str) -> str
        return sha256_file(path)

    def read(self, path, limit=1 << 20):
        # type: (str, int) -> bytes
        """The first bytes of a file; raises IOError/OSError as open() does."""
        return boundary.read(path, limit)

    def member(self, tarball, name, limit):
        # type: (str, str, int) -> Optional[bytes]
        """The first bytes of a member of a release tarball, None when it has none."""
        try:
            data = archive.read_member(tarball, name, limit)  # type: Optional[bytes]
            return data
        except Exception:  # a damaged tarball is reported when it is extracted
            return None

    def listing(self, path):
        # type: (str) -> Union[None, bool, List[str]]
        return ownership.listing_of(path)

    def nearest_existing(self, path):
        # type: (str) -> str
        return nearest_existing(path)

    def writable(self, path):
        # type: (str) -> bool
        return os.access(path, os.W_OK | os.X_OK)

    def free_bytes(self, path):
        # type: (str) -> int
        return free_bytes(path)

    def free_inodes(self, path):
        # type: (str) -> Optional[int]
        return free_inodes(path)

    def usage(self, path):
        # type: (str) -> Tuple[int, int]
        """(bytes, entries) under path; (0, 0) when it cannot be read."""
        try:
            return boundary.usage(path)
        except (IOError, OSError, boundary.Untrusted):
            return 0, 0

    def state(self, prefix):
        # type: (str) -> Optional[Dict[str, Any]]
        return load_state(prefix)

    # Java and Pythons

    def find_java(self, low, high, needs):
        # type: (Optional[int], Optional[int], str) -> Tuple[Optional[str], Optional[int], Optional[str]]
        return find_java(self.env, low, high, needs)

    def python_info(self, python):
        # type: (str) -> Optional[Tuple[str, Tuple[int, ...]]]
        return python_info(python)

    def new_password(self):
        # type: () -> str
        return binascii.hexlify(os.urandom(18)).decode("ascii")
