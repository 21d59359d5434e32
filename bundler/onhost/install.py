"""The installer proper, run by install.sh once the bundle is verified:

    python -E -S -B target/install.py --bundle-dir DIR --role ROLE[,ROLE...] [options]

Steps, in order: read the manifest; preflight (every problem reported at once, with its fix;
exit 4); then, unless --check: service user, folders, Python environment for supervisord,
releases, symlinks, configs, supervisord and its programs, health. Every change goes through
one place (`Host`), which prints it and, under --dry-run, makes none. state/installed.json
records what was installed, so a re-run changes and restarts only what differs and
--uninstall knows what to remove.

Standard library only; runs on Python 2.7 and 3.6 to 3.13.
"""

from __future__ import absolute_import, print_function

import argparse
import binascii
import errno
import grp
import hashlib
import io
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import archive  # noqa: E402
import cluster  # noqa: E402
import configs  # noqa: E402
import health  # noqa: E402
from sha256check import digest as sha256_file  # noqa: E402

try:  # Python 3
    from configparser import RawConfigParser
except ImportError:  # Python 2
    from ConfigParser import RawConfigParser  # type: ignore[no-redef]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTEGRITY = 3
EXIT_PREREQ = 4
EXIT_UNHEALTHY = 5

STATE_SCHEMA = 1
DAEMONS = ("zookeeper", "nimbus", "supervisor", "ui", "logviewer", "drpc")
STORM_DAEMONS = DAEMONS[1:]
DEFAULT_HTTP_PORT = configs.SUPERVISORD_HTTP_PORT
DEFAULT_TIMEOUT = 180
# How long a host waits for what its roles need from the other hosts of its cluster.
DEFAULT_PEER_TIMEOUT = 300
# Between progress lines while waiting for peers.
PEER_REPORT_EVERY = 15
SUPERVISORD_START_TIMEOUT = 30
# Generous: supervisord stops each program within its stopwaitsecs.
SUPERVISORD_STOP_TIMEOUT = 180
# Where a Java may live, searched only to suggest a fix.
JAVA_DIRS = ("/usr/lib/jvm", "/usr/java", "/usr/local/java", "/opt/java", "/opt")
LAUNCHER_PYTHONS = ("python3", "python", "python2", "python2.7")
LAUNCHER_PYTHON_PATHS = ("/usr/bin/python3", "/usr/local/bin/python3", "/usr/bin/python2")
ZK_DIR_FILES = ("etc/zookeeper/", "data/zookeeper/")
STORM_DIR_FILES = ("etc/storm/",)
SYSTEMD_DIR = "/etc/systemd/system"
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
ROLE_OF = dict((name, role) for role, name, _ in configs.PROGRAMS)
# Flags behind the values configs.validate_values names, for usage errors.
FLAG_OF = {
    "prefix": "--prefix",
    "user": "--user",
    "zk_servers": "--zk-servers",
    "zk_id": "--zk-id",
    "nimbus_hosts": "--nimbus-host",
    "http_bind": "--ui-bind",
    "http_port": "--ui-bind",
    "launcher_python": "--launcher-python",
    "python": "--python",
    "zk_ids": "--zk-servers",
}


class InstallError(Exception):
    """A failure with a message that says what to do; exit 1."""

    exit_code = EXIT_ERROR


class UsageError(InstallError):
    """A flag or combination of flags that cannot work; exit 2."""

    exit_code = EXIT_USAGE


class IntegrityError(InstallError):
    """The bundle does not match its own manifest; exit 3."""

    exit_code = EXIT_INTEGRITY


class PrerequisitesMissing(InstallError):
    """The host lacks something; carries every problem found, each with its fix; exit 4."""

    exit_code = EXIT_PREREQ

    def __init__(self, problems):
        InstallError.__init__(self, "%d problem(s) on this host" % len(problems))
        self.problems = problems


class Unhealthy(InstallError):
    """A program did not reach RUNNING or does not answer; exit 5."""

    exit_code = EXIT_UNHEALTHY


def say(message):
    sys.stderr.write("install: %s\n" % message)
    sys.stderr.flush()


def warn(message):
    say("warning: " + message)


# --- small helpers ---


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def to_bytes(text):
    return text if isinstance(text, bytes) else text.encode("utf-8")


def which(name, path=None):
    if "/" in name:
        return name if os.access(name, os.X_OK) and os.path.isfile(name) else None
    for folder in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        candidate = os.path.join(folder or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def run(cmd, timeout=120, env=None, cwd=None):
    """(exit code, combined output) of cmd; (None, reason) when it cannot run or times out.
    Python 2 has no subprocess timeouts, hence the polling."""
    try:
        with open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(
                cmd,
                stdin=devnull,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                close_fds=True,
            )
    except (OSError, IOError) as exc:
        return None, str(exc)
    deadline = time.time() + timeout
    if timeout and sys.version_info[0] >= 3:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None, "timed out after %ds" % timeout
    else:
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
            return None, "timed out after %ds" % timeout
        out, _ = proc.communicate()
    return proc.returncode, out.decode("utf-8", "replace")


def version_tuple(text):
    return tuple(int(p) for p in re.findall(r"\d+", text))


# --- PEP 440-ish specifiers, enough for the recipes' ">=2.6,<3" ---


def _cmp(a, b):
    width = max(len(a), len(b))
    a = tuple(a) + (0,) * (width - len(a))
    b = tuple(b) + (0,) * (width - len(b))
    return (a > b) - (a < b)


def satisfies(version, spec):
    """True when the version tuple matches every clause of spec (">=2.6,<3", "==3.*", ...)."""
    for clause in [c.strip() for c in spec.split(",") if c.strip()]:
        match = re.match(r"^(~=|==|!=|<=|>=|<|>)\s*([0-9][0-9.]*)(\.\*)?$", clause)
        if not match:
            raise ValueError("unsupported version specifier %r" % clause)
        op, text, wildcard = match.groups()
        want = version_tuple(text)
        if wildcard:
            prefix_equal = tuple(version[: len(want)]) == want
            if (op == "==" and not prefix_equal) or (op == "!=" and prefix_equal):
                return False
            if op not in ("==", "!="):
                raise ValueError("wildcard only with == or != in %r" % clause)
            continue
        c = _cmp(version, want)
        ok = {
            "==": c == 0,
            "!=": c != 0,
            "<": c < 0,
            "<=": c <= 0,
            ">": c > 0,
            ">=": c >= 0,
            "~=": c >= 0 and tuple(version[: len(want) - 1]) == want[:-1],
        }[op]
        if not ok:
            return False
    return True


# --- the command line ---


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse_args(argv):
    parser = _Parser(prog="install.sh", add_help=False)
    parser.add_argument("--bundle-dir", required=True)
    parser.add_argument("--role")
    parser.add_argument("--prefix")
    parser.add_argument("--user")
    parser.add_argument("--zk-servers")
    parser.add_argument("--zk-id", type=int)
    parser.add_argument("--nimbus-host")
    parser.add_argument("--ui-bind")
    parser.add_argument("--web-password-file")
    parser.add_argument("--init", choices=("auto", "systemd", "none"), default="auto")
    parser.add_argument("--python")
    parser.add_argument("--launcher-python")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT)
    parser.add_argument("--host")
    parser.add_argument("--peer-timeout", type=int, default=DEFAULT_PEER_TIMEOUT)
    for flag in ("--no-start", "--dry-run", "--check", "--uninstall", "--purge"):
        parser.add_argument(flag, action="store_true")
    return parser.parse_args(argv)


def split_list(text):
    return [item for item in (text or "").split(",") if item]


# --- the bundle ---


class Bundle(object):
    """The verified, unpacked bundle: manifest, facts and the paths of its files."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        # Raised after the except clause: Python 2 has no `raise ... from`.
        problem = None
        try:
            self.manifest = json.loads(read_bytes(self.path("bundle.json")).decode("utf-8"))
            sums_text = read_bytes(self.path("SHA256SUMS")).decode("utf-8")
        except (IOError, OSError, ValueError) as exc:
            problem = exc
        if problem is not None:
            raise IntegrityError(
                "cannot read bundle.json and SHA256SUMS in %s (%s); unpack the bundle again"
                % (self.root, problem)
            )
        if self.manifest.get("schema") != 1:
            raise IntegrityError(
                "bundle.json has schema %r, this installer reads schema 1; use the install.sh "
                "that came with the bundle" % self.manifest.get("schema")
            )
        sums = {}
        for line in sums_text.splitlines():
            if line.strip():
                digest, name = line.split("  ", 1)
                sums[name] = digest
        files = dict((k, v["sha256"]) for k, v in self.manifest.get("files", {}).items())
        listed = dict((k, v) for k, v in sums.items() if k != "bundle.json")
        if files != listed:
            differ = sorted(set(files.items()) ^ set(listed.items()))
            raise IntegrityError(
                "bundle.json and SHA256SUMS disagree about %s; the bundle is damaged or was "
                "edited: copy it again and check it with its .sha256" % differ[0][0]
            )
        self.id = sha256_bytes(sums_text.encode("utf-8"))
        self.name = self.manifest["name"]
        components = self.manifest["components"]
        self.storm = components["storm"]
        self.zookeeper = components["zookeeper"]
        self.components = {"storm": self.storm, "zookeeper": self.zookeeper}
        self.pythons = components["supervisor"]["pythons"]
        self.cluster = None
        listed = self.manifest.get("cluster")
        if listed:
            problem = None
            try:
                self.cluster = cluster.load(self.path(listed["file"]))
            except ValueError as exc:
                problem = exc
            if problem is not None or self.cluster is None:
                raise IntegrityError(
                    "bundle.json lists the inventory %s, which cannot be read (%s); unpack the "
                    "bundle again" % (listed["file"], problem or "missing")
                )

    def path(self, rel):
        return os.path.join(self.root, *rel.split("/"))

    def python_entry(self, version):
        return self.pythons.get("%d.%d" % tuple(version[:2]))


# --- the host ---


def default_prefix(root):
    return "/opt/storm" if root else os.path.join(os.path.expanduser("~"), "storm")


def current_user():
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def memory_mb():
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


def parse_java_version(text):
    """The major version in `java -version` output: 1.8.0_392 is 8; 9 and later print 11.0.2,
    17, 21-ea. None when there is none."""
    match = re.search(r'version "([^"]+)"', text)
    parts = version_tuple(match.group(1)) if match else ()
    if not parts:
        return None
    return parts[1] if parts[0] == 1 and len(parts) > 1 else parts[0]


def java_version(java):
    """(major version, None) of a java binary, or (None, reason)."""
    code, out = run([java, "-version"], timeout=60)
    if code != 0:
        return None, (out or "").strip().splitlines()[-1:] or ["exit %s" % code]
    major = parse_java_version(out)
    if major is None:
        return None, ["no version in: %s" % out.strip()[:200]]
    return major, None


def java_candidates():
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
    if low and high:
        return "Java %d to %d" % (low, high)
    if low:
        return "Java %d or later" % low
    return "any Java"


def find_java(env, low, high, needs):
    """(java_home, major, problem). JAVA_HOME wins; then `java` on PATH."""

    def fits(major):
        return (not low or major >= low) and (not high or major <= high)

    def fix(found):
        others = [(h, m) for h, m in java_candidates() if fits(m) and h != found]
        if others:
            home, major = others[0]
            return "run with JAVA_HOME=%s (Java %d) set" % (home, major)
        return (
            "install %s (e.g. apt-get install openjdk-%d-jre-headless, dnf install "
            "java-%d-openjdk-headless) and set JAVA_HOME, or build the bundle with --jdk"
            % (describe_range(low, high), high or low or 17, high or low or 17)
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
        java = which("java", env.get("PATH", ""))
        if not java:
            return (
                None,
                None,
                "no Java: JAVA_HOME is not set and no java on PATH; fix: " + fix(None),
            )
        java_home = os.path.dirname(os.path.dirname(os.path.realpath(java)))
        where = "%s (on PATH)" % java
    major, reason = java_version(java)
    if not major:
        return None, None, "%s does not run: %s; fix: %s" % (java, " ".join(reason), fix(java_home))
    if not fits(major):
        return (
            None,
            None,
            "%s is Java %d; %s need %s; fix: %s"
            % (where, major, needs, describe_range(low, high), fix(java_home)),
        )
    return java_home, major, None


def python_info(python):
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
    """True when host names this machine (loopback, or an address a socket can bind)."""
    if host in ("localhost", "::1") or host.startswith("127."):
        return True
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.error:
        return False
    for info in infos:
        address = info[4][0]
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
    return os.path.isdir("/run/systemd/system")


def free_bytes(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def nearest_existing(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


# --- state ---


def load_state(prefix):
    path = os.path.join(prefix, "state", "installed.json")
    data = read_or_none(path)
    if data is None:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError:
        pass
    raise InstallError(
        "%s is not valid JSON; it records what was installed: repair it, or remove the "
        "installation by hand" % path
    )


def state_bytes(state):
    return (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8")


# --- the plan: options resolved against the bundle and the host ---


def identify_host(args, bundle):
    """(inventory entry, how it was found) of this host, (None, None) without an inventory.
    --host names it; otherwise the hostname or one of this host's addresses must match exactly
    one inventory host."""
    if bundle.cluster is None:
        if args.host:
            raise UsageError(
                "--host %s: this bundle carries no cluster inventory (build it with "
                "`bundler build --cluster cluster.toml`)" % args.host
            )
        return None, None
    problem = None
    try:
        if args.host:
            return cluster.find(bundle.cluster, args.host), "--host %s" % args.host
        return cluster.identify(bundle.cluster)
    except cluster.NoMatch as exc:
        problem = str(exc)
    raise UsageError(problem)


class Plan(object):
    """Everything decided before the first change: roles, paths, addresses, Java, Pythons."""

    def __init__(self, args, bundle, env):
        self.args = args
        self.bundle = bundle
        self.env = env
        self.root = os.geteuid() == 0
        self.dry_run = args.dry_run
        self.problems = []
        self.notes = []
        self.entry, how = identify_host(args, bundle)
        self.part = None
        if self.entry is not None:
            self.part = cluster.settings(bundle.cluster, self.entry)
            self.notes.append(
                "this host is %s (%s) of the bundle's inventory, found by %s"
                % (self.entry["name"], self.entry["address"], how)
            )
        self.prefix = os.path.normpath(
            args.prefix or (self.part and self.part["prefix"]) or default_prefix(self.root)
        )
        self.state = load_state(self.prefix)
        self.conf_path = os.path.join(self.prefix, "etc", "supervisord.conf")

    def problem(self, text):
        self.problems.append(text)

    # roles and addresses

    def resolve(self):
        """Flags first, then this host's part of the bundle's inventory, then the defaults of
        a single-node cluster on 127.0.0.1."""
        args = self.args
        part = self.part or {}
        if args.zk_servers or not part:
            self.zk_servers = split_list(args.zk_servers) or ["127.0.0.1"]
            self.zk_ids = list(range(1, len(self.zk_servers) + 1))
            inventory_zk_id = None
        else:
            self.zk_servers, self.zk_ids = part["zk_servers"], part["zk_ids"]
            inventory_zk_id = part["zk_id"]
        self.nimbus_hosts = (
            split_list(args.nimbus_host) or part.get("nimbus_hosts") or ["127.0.0.1"]
        )
        self.zk_ports = part.get("zk_ports") or configs.default_zk_ports(self.zk_facts())
        self.slots = part.get("slots") or list(self.storm_facts().get("slots_ports", []))
        self.heaps = part.get("heaps") or {}
        if args.role or not part:
            self.roles = self.expand_roles(split_list(args.role))
        else:
            self.roles = list(part["roles"])
        runs_zk = "zookeeper" in self.roles
        self.zk_id = None
        if runs_zk:
            if args.zk_id:
                if args.zk_id not in self.zk_ids:
                    raise UsageError(
                        "--zk-id %d but the ensemble's ids are %s (%s)"
                        % (
                            args.zk_id,
                            ",".join(str(i) for i in self.zk_ids),
                            "--zk-servers" if args.zk_servers or not part else "the inventory",
                        )
                    )
                self.zk_id = args.zk_id
            elif inventory_zk_id:
                self.zk_id = inventory_zk_id
            elif len(self.zk_servers) == 1:
                self.zk_id = self.zk_ids[0]
            else:
                local = [i for i, h in enumerate(self.zk_servers) if is_local_address(h)]
                if len(local) == 1:
                    self.zk_id = self.zk_ids[local[0]]
                else:
                    self.problem(
                        "cannot tell which of --zk-servers %s is this host (%s match); fix: "
                        "pass --zk-id N, N being this host's place in that list"
                        % (",".join(self.zk_servers), len(local) or "none")
                    )
        if self.storm_facts().get("nimbus_key") == "nimbus.host" and len(self.nimbus_hosts) > 1:
            raise UsageError(
                "--nimbus-host names %d hosts, but Storm %s has a single Nimbus (nimbus.host); "
                "name one" % (len(self.nimbus_hosts), self.bundle.storm["version"])
            )
        self.host = self.this_host()
        self.user = self.service_user()
        bind = args.ui_bind or "127.0.0.1"
        if ":" in bind:
            bind, port = bind.rsplit(":", 1)
            self.http_bind, self.http_port = bind, int(port)
        else:
            self.http_bind, self.http_port = bind, DEFAULT_HTTP_PORT
        self.init = args.init
        if self.init == "auto":
            self.init = "systemd" if self.root and systemd_running() else "none"
        self.site_dir = os.path.join(self.prefix, "python", "site")

    def expand_roles(self, names):
        if not names:
            return []
        if names == ["nimbus"]:
            # The book's Nimbus host: ZooKeeper too unless the ensemble lives elsewhere.
            roles = set(["nimbus", "ui", "supervisor"])
            if any(is_local_address(h) for h in self.zk_servers):
                roles.add("zookeeper")
        elif "all" in names:
            roles = set(DAEMONS)
        else:
            roles = set(names)
        return [d for d in DAEMONS if d in roles]

    def this_host(self):
        if self.zk_id:
            return self.zk_servers[self.zk_ids.index(self.zk_id)]
        if self.entry is not None:
            return self.entry["address"]
        named = self.zk_servers + self.nimbus_hosts
        if "nimbus" in self.roles:
            for host in self.nimbus_hosts:
                if is_local_address(host):
                    return host
        if all(h == "localhost" or h.startswith("127.") for h in named):
            return "127.0.0.1"
        return socket.getfqdn()

    def service_user(self):
        wanted = self.args.user
        if not self.root:
            if not wanted and self.part and self.part["user"]:
                self.notes.append(
                    "not root: the daemons run as %s, not as the inventory's user %s"
                    % (current_user(), self.part["user"])
                )
            if wanted and wanted != current_user():
                self.problem(
                    "--user %s: running daemons as another user needs root; fix: run as root, "
                    "or drop --user to run them as %s" % (wanted, current_user())
                )
            return None
        return wanted or (self.part and self.part["user"]) or "storm"

    # preflight

    def preflight(self):
        """Fill in the host facts and collect every problem; nothing is changed."""
        self.check_permissions()
        self.check_tools()
        self.check_python()
        self.check_java()
        self.check_launcher_python()
        self.check_disk()
        self.check_ports()
        self.check_password_file()
        self.memory_mb = memory_mb()
        if not self.problems and self.roles:
            self.render()

    def render(self):
        """Every config file, rendered before the first change so that a value configs.py
        refuses stops the run while the host is untouched."""
        self.password = self.web_password or self.stored_password()
        if not self.password:
            self.password = binascii.hexlify(os.urandom(18)).decode("ascii")
        sha1 = hashlib.sha1(self.password.encode("utf-8")).hexdigest()
        self.values = self.make_values(sha1)
        refused = None
        try:
            rendered = configs.render(self.bundle.manifest, self.values)
        except ValueError as exc:
            refused = str(exc)
        if refused is not None:
            match = re.match(r"values\['(\w+)'\]", refused)
            flag = FLAG_OF.get(match.group(1)) if match else None
            raise UsageError("%s%s" % (flag + ": " if flag else "", refused))
        self.rendered = [(rel, to_bytes(text), mode) for rel, text, mode in rendered]
        self.rendered += self.zookeeper_logging(set(r for r, _, _ in self.rendered))
        files = dict((rel, data) for rel, data, _ in self.rendered)
        self.conf_text = files["etc/supervisord.conf"]
        self.unit_text = [d for r, d in files.items() if r.startswith("etc/systemd/")][:1]
        self.unit_text = self.unit_text[0] if self.unit_text else None
        conf = parse_conf(self.conf_text)
        self.socket = conf["unix_http_server"]["file"]
        self.pidfile = conf["supervisord"]["pidfile"]
        self.logfile = conf["supervisord"]["logfile"]
        programs = [
            (int(v.get("priority", 999)), k.split(":", 1)[1])
            for k, v in conf.items()
            if k.startswith("program:")
        ]
        self.program_order = [name for _, name in sorted(programs)]

    def stored_password(self):
        path = os.path.join(self.prefix, "etc", "web-password")
        try:
            return read_bytes(path).decode("utf-8").strip("\r\n") or None
        except (IOError, OSError, UnicodeDecodeError):
            return None

    def zookeeper_logging(self, rendered):
        """The release's own logging config beside zoo.cfg: ZooKeeper's launcher puts
        ZOOCFGDIR first on the classpath, so that is where it is looked for."""
        rel = self.zk_facts().get("log_config")
        if "zookeeper" not in self.roles or not rel:
            return []
        dest = "etc/zookeeper/" + rel.rsplit("/", 1)[-1]
        if dest in rendered:
            return []
        data = self.release_file(self.bundle.zookeeper, rel, 1 << 20)
        if data is None:
            self.notes.append(
                "ZooKeeper %s has no %s: its logging stays as the release ships it"
                % (self.bundle.zookeeper["version"], rel)
            )
            return []
        return [(dest, data, 0o644)]

    def installed_here(self):
        state = self.state
        return bool(state) and state.get("prefix") == self.prefix and not state.get("uninstalled")

    def check_permissions(self):
        if self.root:
            creatable = which("useradd") or which("adduser")
            if self.user and ids_of(self.user) is None and not creatable:
                self.problem(
                    "service user %s does not exist and neither useradd nor adduser is "
                    "here; fix: create the user, or install the passwd/shadow tools" % self.user
                )
            ids = ids_of(self.user) if self.user else None
            blocked = reachable(self.prefix, ids) if self.user else None
            if blocked:
                self.problem(
                    "service user %s cannot reach %s: %s is mode %s; fix: chmod o+x %s, or "
                    "choose another --prefix"
                    % (
                        self.user,
                        self.prefix,
                        blocked,
                        oct(os.stat(blocked).st_mode & 0o777),
                        blocked,
                    )
                )
        else:
            existing = nearest_existing(self.prefix)
            if not os.access(existing, os.W_OK | os.X_OK):
                self.problem(
                    "cannot install into %s: %s is not writable by %s; fix: run as root, or "
                    "pass --prefix with a folder you own" % (self.prefix, existing, current_user())
                )
            if self.args.init == "systemd":
                self.problem("--init systemd needs root; fix: run as root or use --init none")
        if self.args.init == "systemd" and not systemd_running():
            self.problem(
                "--init systemd but systemd does not run this host (no /run/systemd/system); "
                "fix: use --init none (or auto)"
            )

    def check_tools(self):
        if self.init == "systemd" and not which("systemctl"):
            self.problem("systemctl not found for --init systemd; fix: use --init none")
        if "zookeeper" in self.roles:
            shebang = self.release_file(self.bundle.zookeeper, self.zk_facts()["launcher"], 256)
            line = (shebang or b"").split(b"\n", 1)[0].decode("utf-8", "replace")
            for shell in ("bash", "sh"):
                if line.startswith("#!") and re.search(r"\b%s\b" % shell, line):
                    if not which(shell) and not os.path.exists("/bin/" + shell):
                        self.problem(
                            "ZooKeeper's %s needs %s (%s); fix: install %s"
                            % (self.zk_facts()["launcher"], shell, line, shell)
                        )
                    break

    def components(self):
        """{link name: manifest component} of what goes under releases/."""
        found = {"zookeeper": self.bundle.zookeeper, "storm": self.bundle.storm}
        if getattr(self, "bundled_jdk", None):
            found["jdk"] = self.bundled_jdk
        return found

    def zk_facts(self):
        return self.bundle.zookeeper["facts"]

    def storm_facts(self):
        return self.bundle.storm["facts"]

    def release_file(self, component, rel, limit):
        """The first bytes of a file of a release, from the unpacked release when present,
        else from its tarball."""
        unpacked = os.path.join(self.prefix, "releases", component["top"], rel)
        if os.path.isfile(unpacked):
            with open(unpacked, "rb") as handle:
                return handle.read(limit)
        try:
            return archive.read_member(
                self.bundle.path(component["artifact"]), component["top"] + "/" + rel, limit
            )
        except Exception:  # a damaged tarball is reported when it is extracted
            return None

    def check_python(self):
        self.python = sys.executable
        self.python_version = platform.python_version()
        entry = self.bundle.python_entry(sys.version_info)
        if entry is None:
            self.problem(
                "%s is Python %s, which this bundle has no packages for (it has %s); fix: pass "
                "--python with one of those"
                % (
                    sys.executable,
                    self.python_version,
                    ", ".join(sorted(self.bundle.pythons, key=version_tuple)),
                )
            )
        self.python_entry = entry

    def check_java(self):
        low, high, needs = None, None, []
        components = []
        if any(r in STORM_DAEMONS for r in self.roles):
            components.append(("Storm", self.bundle.storm))
        if "zookeeper" in self.roles or not self.roles:
            components.append(("ZooKeeper", self.bundle.zookeeper))
        if not self.roles:
            components.append(("Storm", self.bundle.storm))
        for display, component in components:
            facts = component["facts"]
            if facts.get("java_min"):
                low = max(low or 0, facts["java_min"])
            if facts.get("java_max"):
                high = min(high or 1000, facts["java_max"])
            needs.append("%s %s" % (display, component["version"]))
        if low and high and low > high:
            self.problem(
                "%s need Java versions that do not overlap; fix: build a bundle with releases "
                "of the same era (see `bundler recipes`)" % " and ".join(needs)
            )
        self.java_home, self.java_major, problem = find_java(
            self.env, low, high, " and ".join(needs)
        )
        self.bundled_jdk = None
        jdk = self.bundle.manifest["components"].get("jdk")
        if problem and jdk:
            major = jdk.get("java_major") or 0
            if (not low or major >= low) and (not high or major <= high):
                # The host's Java does not do: the JDK the bundle carries does.
                self.bundled_jdk = jdk
                self.java_home = os.path.join(self.prefix, "jdk")
                self.java_major = major
                self.notes.append(
                    "using the bundle's JDK (Java %s) as %s: %s"
                    % (jdk.get("version"), self.java_home, problem.split("; fix:")[0])
                )
                return
            problem += "; the bundle's JDK is Java %d, which does not fit either" % major
        if problem:
            self.problem(problem)
        elif self.user:
            java = os.path.join(self.java_home, "bin", "java")
            blocked = reachable(java, ids_of(self.user))
            if blocked:
                self.problem(
                    "service user %s cannot run %s (%s is in the way); fix: install a Java "
                    "outside private folders and set JAVA_HOME" % (self.user, java, blocked)
                )

    def check_launcher_python(self):
        self.launcher_python = None
        if not any(r in STORM_DAEMONS for r in self.roles) and self.roles:
            return
        spec = self.storm_facts().get("launcher_python") or ">=2.6"
        ids = ids_of(self.user) if self.user else None
        if self.args.launcher_python:
            candidates = [self.args.launcher_python]
        else:
            path = self.env.get("PATH", "")
            candidates = [which(n, path) for n in LAUNCHER_PYTHONS]
            candidates += list(LAUNCHER_PYTHON_PATHS) + [sys.executable]
        tried = []
        seen = set()
        for candidate in candidates:
            if not candidate or candidate in seen:
                continue
            seen.add(candidate)
            info = python_info(candidate)
            if info is None:
                if self.args.launcher_python:
                    tried.append("%s does not run" % candidate)
                continue
            executable, version = info
            label = "%s (%s)" % (executable, ".".join(map(str, version)))
            if not satisfies(version, spec):
                tried.append(label + " is outside " + spec)
                continue
            if self.user and reachable(executable, ids):
                tried.append(label + " is not reachable by user " + self.user)
                continue
            self.launcher_python = executable
            return
        self.problem(
            "Storm %s's launcher needs Python %s%s; tried: %s; fix: install one (e.g. "
            "apt-get install %s) or pass --launcher-python PATH"
            % (
                self.bundle.storm["version"],
                spec,
                " that user %s can run" % self.user if self.user else "",
                "; ".join(tried) or "nothing found",
                "python2" if satisfies((3, 99), spec) is False else "python3-minimal",
            )
        )

    def check_disk(self):
        need = 64 << 20
        for component in self.components().values():
            if not os.path.isdir(os.path.join(self.prefix, "releases", component["top"])):
                size = os.path.getsize(self.bundle.path(component["artifact"]))
                need += size * 3  # release tarballs unpack to about 2 to 3 times their size
        if self.python_entry and not self.site_matches():
            for wheel in self.python_entry["wheels"]:
                need += os.path.getsize(self.bundle.path(wheel)) * 3
        have = free_bytes(self.prefix)
        if have < need:
            self.problem(
                "%s has %d MB free, the installation needs about %d MB; fix: free some space "
                "or choose another --prefix"
                % (nearest_existing(self.prefix), have >> 20, (need >> 20) + 1)
            )

    def ports(self, roles):
        storm_ports = self.storm_facts().get("ports", {})
        ports = []
        if "zookeeper" in roles:
            ports.append((self.zk_ports["client"], "ZooKeeper client port"))
            if len(self.zk_servers) > 1:
                ports.append((self.zk_ports["peer"], "ZooKeeper peer port"))
                ports.append((self.zk_ports["election"], "ZooKeeper election port"))
            admin = configs.zk_admin_port(self.zk_facts(), roles, self.zk_ports)
            if admin is not None:
                ports.append((admin, "ZooKeeper AdminServer"))
        named = {
            "nimbus": "nimbus.thrift.port",
            "ui": "ui.port",
            "logviewer": "logviewer.port",
            "drpc": "drpc.port",
        }
        for role in STORM_DAEMONS:
            if role in roles and named.get(role) in storm_ports:
                ports.append((storm_ports[named[role]], "%s (%s)" % (role, named[role])))
        if "supervisor" in roles:
            for port in self.slots:
                ports.append((port, "worker slot (supervisor.slots.ports)"))
        return ports

    def check_ports(self):
        if not self.roles:
            self.notes.append("no --role given: ports not checked")
            return
        ours = set()
        state = self.state if self.installed_here() else None
        if state and health.supervisord_state(state.get("socket", "")) is not None:
            # Held by this installation's own programs: a re-run needs them, not free.
            ours = set(p for p, _ in self.ports(state.get("roles", [])))
            ours.add(state.get("values", {}).get("http_port"))
        wanted = self.ports(self.roles)
        if self.http_port not in ours:
            address = "0.0.0.0" if self.http_bind in ("0.0.0.0", "*", "") else self.http_bind
            wanted.append((self.http_port, "supervisord web interface on " + address))
        for port, what in wanted:
            if port in ours:
                continue
            problem = port_problem(port)
            if problem:
                self.problem(
                    "port %d for the %s is %s; fix: stop what holds it, or leave that role to "
                    "another host" % (port, what, problem)
                )

    def check_password_file(self):
        path = self.args.web_password_file
        self.web_password = None
        if not path:
            return
        try:
            text = read_bytes(path).decode("utf-8").strip("\r\n")
        except (IOError, OSError, UnicodeDecodeError) as exc:
            self.problem(
                "--web-password-file %s cannot be read (%s); fix: give a readable file that "
                "holds the password" % (path, exc)
            )
            return
        if not text.strip() or "\n" in text:
            self.problem(
                "--web-password-file %s must hold one non-empty line; fix: write the password "
                "on one line" % path
            )
            return
        self.web_password = text

    def site_matches(self):
        state = self.state if self.installed_here() else None
        if not state or not self.python_entry:
            return False
        return state.get("python") == self.python_record() and os.path.isfile(
            os.path.join(self.site_dir, "bin", "supervisord")
        )

    def python_record(self):
        lock = sha256_file(self.bundle.path(self.python_entry["lock"]))
        return {"interpreter": self.python, "version": self.python_version, "lock": lock}

    def make_values(self, web_password_sha1):
        return {
            "prefix": self.prefix,
            "user": self.user,
            "roles": list(self.roles),
            "host": self.host,
            "zk_servers": list(self.zk_servers),
            "zk_ids": list(self.zk_ids),
            "zk_id": self.zk_id,
            "zk_ports": dict(self.zk_ports),
            "nimbus_hosts": list(self.nimbus_hosts),
            "http_bind": self.http_bind,
            "http_port": self.http_port,
            "web_password_sha1": web_password_sha1,
            "java_home": self.java_home,
            "java_major": self.java_major,
            "memory_mb": self.memory_mb,
            "python": self.python,
            "launcher_python": self.launcher_python or self.python,
            "site_dir": self.site_dir,
            "slots": list(self.slots),
            "heaps": dict(self.heaps),
        }


# --- changes: one place that prints them and, unless --dry-run, makes them ---


class Host(object):
    def __init__(self, prefix, dry_run, owner, service):
        self.prefix = prefix
        self.dry_run = dry_run
        self.owner = owner  # (uid, gid) for everything but data/logs/run
        self.service = service  # (uid, gid) for data/logs/run
        self.changed = []
        self.removed = set()

    def change(self, text):
        self.changed.append(text)
        if self.dry_run:
            sys.stdout.write("would %s\n" % text)
            sys.stdout.flush()
        else:
            say(text)

    def abs(self, rel):
        return os.path.join(self.prefix, *rel.split("/")) if rel else self.prefix

    def ids_for(self, rel):
        top = rel.split("/", 1)[0]
        return self.service if top in ("data", "logs", "run") else self.owner

    def ensure_dir(self, rel, mode):
        path = self.abs(rel)
        uid, gid = self.ids_for(rel)
        if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path)):
            raise InstallError("%s exists and is not a folder; move it away and run again" % path)
        if not os.path.isdir(path):
            self.change("create folder %s (mode %04o)" % (path, mode))
            if not self.dry_run:
                os.mkdir(path, mode)
                os.chmod(path, mode)
                self._chown(path, uid, gid)
            return
        self.fix_meta(path, mode, uid, gid)

    def fix_meta(self, path, mode, uid, gid):
        st = os.lstat(path)
        if stat.S_IMODE(st.st_mode) != mode:
            self.change("set mode %04o on %s" % (mode, path))
            if not self.dry_run:
                os.chmod(path, mode)
        if uid is not None and (st.st_uid, st.st_gid) != (uid, gid):
            self.change("set owner %d:%d on %s" % (uid, gid, path))
            if not self.dry_run:
                os.chown(path, uid, gid)

    def _chown(self, path, uid, gid):
        if uid is not None:
            os.lchown(path, uid, gid)

    def write(self, path, data, mode, uid=None, gid=None, show_diff=True):
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
        """Empty now, or once what was removed (under --dry-run: would be) is gone."""
        return all(os.path.join(folder, name) in self.removed for name in os.listdir(folder))

    def remove(self, path):
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

    def command(self, text, cmd, timeout=300, env=None):
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


# --- the steps ---

PREFIX_DIRS = (
    ("", 0o755),
    ("releases", 0o755),
    ("python", 0o755),
    ("etc", 0o755),
    ("etc/zookeeper", 0o755),
    ("etc/storm", 0o755),
    ("etc/systemd", 0o755),
    ("bin", 0o755),
    ("state", 0o700),
    ("data", 0o750),
    ("data/zookeeper", 0o750),
    ("data/storm", 0o750),
    ("logs", 0o755),
    ("logs/storm", 0o755),
    ("run", 0o700),
)


def nologin_shell():
    for shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"):
        if os.path.exists(shell):
            return shell
    return "/bin/false"


def create_user(host, name):
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


def program_component(name):
    return "zookeeper" if ROLE_OF.get(name) == "zookeeper" else "storm"


def fingerprint(section, project, component, rendered, jdk):
    """What a running program was started with: a change means it needs a restart."""
    deps = ZK_DIR_FILES if project == "zookeeper" else STORM_DIR_FILES
    files = dict((rel, sha256_bytes(data)) for rel, data, _ in rendered if rel.startswith(deps))
    blob = {"section": section, "release": component["top"], "files": files, "jdk": jdk}
    return sha256_bytes(json.dumps(blob, sort_keys=True).encode("utf-8"))


class Installer(object):
    """Applies a Plan to the host, step by step, through Host."""

    def __init__(self, plan):
        self.plan = plan
        self.bundle = plan.bundle
        self.prefix = plan.prefix
        self.old = (plan.state if plan.installed_here() else None) or {}
        old = self.old
        previous = plan.state or {}
        self.state = {
            "schema": STATE_SCHEMA,
            "prefix": self.prefix,
            "bundle": {"name": self.bundle.name, "id": self.bundle.id},
            "user": plan.user,
            # Also from what an --uninstall without --purge left: the user is still ours.
            "user_created": bool(previous.get("user_created"))
            and previous.get("user") == plan.user,
            "roles": plan.roles,
            "values": plan.values,
            "init": plan.init,
            "unit": None,
            "socket": plan.socket,
            "python": old.get("python"),
            "releases": sorted(set(old.get("releases", []))),
            "files": dict(old.get("files", {})),
            "programs": dict(old.get("programs", {})),
        }
        self.site_changed = False
        self.unit_changed = False
        self.conf_changed = False
        self.global_changed = False
        owner = (os.geteuid(), os.getegid()) if plan.root else (None, None)
        self.host = Host(self.prefix, plan.dry_run, owner, owner)

    def install(self):
        plan = self.plan
        self.service_user()
        for rel, mode in PREFIX_DIRS:
            self.host.ensure_dir(rel, mode)
        self.lock()
        self.save_state()
        self.python_env()
        self.releases()
        self.save_state()
        self.configs()
        if plan.init == "systemd":
            self.systemd_unit()
        else:
            self.drop_systemd_unit()
        self.save_state()
        if plan.args.no_start:
            self.say_not_started()
            return None
        self.start()
        if plan.dry_run:
            return None
        self.state["programs"] = dict(self.fingerprints)
        self.save_state()
        return check_health(plan)

    def service_user(self):
        plan = self.plan
        if not plan.user:
            return
        if ids_of(plan.user) is None:
            create_user(self.host, plan.user)
            self.state["user_created"] = True
        if plan.dry_run and ids_of(plan.user) is None:
            return
        entry = pwd.getpwnam(plan.user)
        self.host.service = (entry.pw_uid, entry.pw_gid)

    def lock(self):
        if self.plan.dry_run:
            return
        import fcntl

        # Held until the process exits.
        self.lock_file = open(self.host.abs("state/lock"), "a")  # noqa: SIM115
        try:
            fcntl.flock(self.lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except IOError:
            pass
        raise InstallError(
            "another install.sh is working on %s; wait for it to finish" % self.prefix
        )

    def save_state(self):
        if self.plan.dry_run:
            return
        path = self.host.abs("state/installed.json")
        data = state_bytes(self.state)
        if os.path.isfile(path) and read_bytes(path) == data:
            return
        self.host._atomic(path, data, 0o600, *self.host.owner)

    def track(self, rel, data):
        self.state["files"][rel] = sha256_bytes(to_bytes(data))

    # Python environment for supervisord

    def python_env(self):
        plan = self.plan
        entry = plan.python_entry
        record = plan.python_record()
        if not plan.site_matches():
            old = self.old.get("python")
            why = None
            if old and old.get("interpreter") != record["interpreter"]:
                why = "interpreter %s -> %s" % (old.get("interpreter"), record["interpreter"])
            elif old and old.get("version") != record["version"]:
                why = "Python %s -> %s" % (old.get("version"), record["version"])
            elif old:
                why = "its lock changed"
            self.install_site(entry, why)
            self.site_changed = True
            self.state["python"] = record
        rel = "python/interpreter"
        data = "%s\n%s\n" % (plan.python, plan.python_version)
        if self.host.write(self.host.abs(rel), data, 0o644, *self.host.owner):
            self.site_changed = True
        self.track(rel, data)

    def install_site(self, entry, why):
        plan = self.plan
        site = plan.site_dir
        partial = "%s.partial-%d" % (site, os.getpid())
        lock = self.bundle.path(entry["lock"])
        pip = self.bundle.path(entry["pip"]) + "/pip"
        # -E -S: nothing of this host's Python setup (PYTHONPATH, site-packages, .pth files)
        # leaks in; --isolated: nor pip's own configuration files and PIP_* variables.
        cmd = [plan.python, "-E", "-S", pip, "install", "-q", "--isolated", "--no-index"]
        cmd += ["--no-cache-dir", "--disable-pip-version-check", "--no-warn-script-location"]
        cmd += ["--find-links", self.bundle.path("python/wheels"), "--require-hashes"]
        cmd += ["--target", partial, "-r", lock]
        text = "install supervisor %s for Python %s into %s (pip from the bundled wheel%s)" % (
            self.bundle.manifest["components"]["supervisor"]["version"],
            plan.python_version,
            site,
            "; " + why if why else "",
        )
        if plan.dry_run:
            self.host.change(text)
            return
        if os.path.lexists(partial):
            shutil.rmtree(partial)
        try:
            self.host.command(text, cmd, timeout=600, env=clean_env())
            if not os.path.isfile(os.path.join(partial, "bin", "supervisord")):
                raise InstallError("pip installed no bin/supervisord into %s" % partial)
            old = "%s.old-%d" % (site, os.getpid())
            if os.path.lexists(site):
                os.rename(site, old)
            os.rename(partial, site)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            if os.path.lexists(partial):
                shutil.rmtree(partial, ignore_errors=True)

    # releases and symlinks

    def releases(self):
        releases_dir = self.host.abs("releases")
        for name, component in sorted(self.plan.components().items()):
            top = component["top"]
            if not os.path.isdir(os.path.join(releases_dir, top)):
                self.host.change(
                    "unpack %s into %s/%s" % (component["artifact"], releases_dir, top)
                )
                if not self.plan.dry_run:
                    self.extract(component, releases_dir)
            if top not in self.state["releases"]:
                self.state["releases"] = sorted(self.state["releases"] + [top])
            self.host.symlink(name, "releases/" + top)
            if name == "storm":
                self.storm_logs(top)
        if self.plan.bundled_jdk and not self.plan.dry_run:
            java = os.path.join(self.plan.java_home, "bin", "java")
            major, reason = java_version(java)
            if major is None:
                raise PrerequisitesMissing(
                    [
                        "the bundle's JDK does not run on this host (%s: %s); fix: install "
                        "Java %d and set JAVA_HOME" % (java, " ".join(reason), self.plan.java_major)
                    ]
                )
        if not self.plan.bundled_jdk and os.path.islink(self.host.abs("jdk")):
            self.host.remove(self.host.abs("jdk"))

    def storm_logs(self, top):
        """Storm writes its daemon and worker logs to STORM_HOME/logs (0.9.x has no setting
        to move them): point that at PREFIX/logs/storm, which the service user owns, so the
        release itself stays root's and untouched otherwise."""
        rel = "releases/%s/logs" % top
        path = self.host.abs(rel)
        if os.path.isdir(path) and not os.path.islink(path):
            if os.listdir(path):
                return  # a release shipping log files of its own: leave it be
            self.host.remove(path)
        self.host.symlink(rel, "../../logs/storm")

    def extract(self, component, releases_dir):
        unsafe = None
        try:
            archive.extract(self.bundle.path(component["artifact"]), releases_dir, component["top"])
        except archive.UnsafeArchive as exc:
            unsafe = exc
        if unsafe is not None:
            raise IntegrityError(
                "%s has an unsafe entry, %s; nothing of it was kept. The bundle is not what the "
                "build checked: copy it again" % (component["artifact"], unsafe)
            )

    # configs

    def configs(self):
        plan = self.plan
        host = self.host
        data = plan.password + "\n"
        host.write(host.abs("etc/web-password"), data, 0o600, *host.owner, show_diff=False)
        self.track("etc/web-password", data)
        conf_rel = "etc/supervisord.conf"
        conf_path = host.abs(conf_rel)
        old_conf = read_or_none(conf_path)
        for rel, data, mode in plan.rendered:
            uid, gid = host.ids_for(rel)
            parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
            if parent and not os.path.isdir(host.abs(parent)):
                host.ensure_dir(parent, 0o755)
            changed = host.write(host.abs(rel), data, mode, uid, gid)
            self.conf_changed = self.conf_changed or (changed and rel == conf_rel)
            self.track(rel, data)
        keep = set(["etc/web-password", "python/interpreter"] + [r for r, _, _ in plan.rendered])
        for rel in sorted(set(self.state["files"]) - keep):
            host.remove(host.abs(rel))
            del self.state["files"][rel]
        new = parse_conf(plan.conf_text)
        if old_conf is not None:
            self.global_changed = global_sections(parse_conf(old_conf)) != global_sections(new)
        self.fingerprints = dict(
            (
                name,
                fingerprint(
                    new["program:" + name],
                    program_component(name),
                    self.bundle.components[program_component(name)],
                    plan.rendered,
                    plan.bundled_jdk and plan.bundled_jdk["top"],
                ),
            )
            for name in plan.program_order
        )

    def systemd_unit(self):
        plan = self.plan
        path = os.path.join(SYSTEMD_DIR, unit_name(self.prefix))
        self.unit_changed = self.host.write(path, plan.unit_text, 0o644)
        self.state["unit"] = path

    def drop_systemd_unit(self):
        """--init none after a systemd installation: supervisord leaves systemd's care."""
        unit = self.old.get("unit")
        if not unit or not os.path.exists(unit):
            return
        if health.supervisord_state(self.plan.socket) is not None:
            self.stop_supervisord("it moves from systemd to --init none")
        name = os.path.basename(unit)
        self.host.command("disable %s" % name, ["systemctl", "disable", name])
        self.host.remove(unit)
        self.host.command("reload systemd's units", ["systemctl", "daemon-reload"])

    def say_not_started(self):
        if self.plan.dry_run:
            return
        if health.supervisord_state(self.plan.socket) is not None:
            say(
                "--no-start: supervisord runs on with what it had; apply changes with "
                "%s update" % self.host.abs("bin/stormctl")
            )
        else:
            say("--no-start: nothing started; start with: %s" % start_hint(self.plan))

    # start, or apply changes to what runs

    def start(self):
        plan = self.plan
        host = self.host
        running = health.supervisord_state(plan.socket) is not None
        restart_all = self.site_changed or self.global_changed or self.unit_changed
        restart_all = restart_all or (running and self.old.get("init", plan.init) != plan.init)
        if running and restart_all:
            self.stop_supervisord("to apply changes to supervisord itself")
            running = False
        if not running:
            self.start_supervisord()
            return
        order = dict((n, i) for i, n in enumerate(plan.program_order))
        proxy = health.supervisor(plan.socket)
        touched = self.update(proxy, order) if self.conf_changed else set()
        old = self.state["programs"]
        stale = [
            n for n in plan.program_order if n not in touched and old.get(n) != self.fingerprints[n]
        ]
        for name in sorted(stale, key=order.get):
            host.change("restart %s (its config or release changed)" % name)
            if plan.dry_run:
                continue
            try:
                proxy.supervisor.stopProcess(name, True)
            except health.Fault as exc:
                if "NOT_RUNNING" not in exc.faultString:
                    raise
            proxy.supervisor.startProcess(name, False)
        if plan.dry_run:
            return
        for name in plan.program_order:
            info = proxy.supervisor.getProcessInfo(name)
            if info["state"] in (health.STOPPED, health.EXITED, health.FATAL):
                host.change("start %s (it was %s)" % (name, info["statename"]))
                proxy.supervisor.startProcess(name, False)

    def update(self, proxy, order):
        """`supervisorctl update`: add, change and remove program groups as the new config
        says. Returns the names it started, restarted or removed."""
        host = self.host
        if self.plan.dry_run:
            added, changed, removed = program_changes(
                parse_conf(read_or_none(self.plan.conf_path) or b""),
                parse_conf(self.plan.conf_text),
            )
        else:
            added, changed, removed = proxy.supervisor.reloadConfig()[0]
        dry = self.plan.dry_run
        for name in removed:
            host.change("stop and remove program %s" % name)
            if not dry:
                proxy.supervisor.stopProcessGroup(name, True)
                proxy.supervisor.removeProcessGroup(name)
        for name in sorted(changed, key=lambda n: order.get(n, 999)):
            host.change("restart program %s with its new settings" % name)
            if not dry:
                proxy.supervisor.stopProcessGroup(name, True)
                proxy.supervisor.removeProcessGroup(name)
                proxy.supervisor.addProcessGroup(name)
        for name in sorted(added, key=lambda n: order.get(n, 999)):
            host.change("add and start program %s" % name)
            if not dry:
                proxy.supervisor.addProcessGroup(name)
        return set(added) | set(changed) | set(removed)

    def start_supervisord(self):
        plan = self.plan
        if plan.init == "systemd":
            name = unit_name(self.prefix)
            self.host.command("reload systemd's units", ["systemctl", "daemon-reload"])
            self.host.command("enable and start %s" % name, ["systemctl", "enable", "--now", name])
        else:
            self.host.change("start supervisord -c %s" % plan.conf_path)
            if plan.dry_run:
                return
            start_supervisord_direct(plan)
        if plan.dry_run:
            return
        deadline = time.time() + SUPERVISORD_START_TIMEOUT
        answered = health.wait(lambda: health.supervisord_state(plan.socket) == "RUNNING", deadline)
        if not answered:
            raise Unhealthy(
                "supervisord did not answer on %s within %ds; last lines of %s:\n%s"
                % (plan.socket, SUPERVISORD_START_TIMEOUT, plan.logfile, health.tail(plan.logfile))
            )

    def stop_supervisord(self, why):
        self.host.change("stop supervisord and its programs (%s)" % why)
        if self.plan.dry_run:
            return
        stop_supervisord(
            self.plan.socket, self.plan.pidfile, self.old.get("init"), self.old.get("unit")
        )


def read_or_none(path):
    try:
        return read_bytes(path)
    except (IOError, OSError):
        return None


def parse_conf(data):
    """{section: {key: value}} of an ini file (supervisord.conf), interpolation off."""
    parser = RawConfigParser()
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if hasattr(parser, "read_string"):
        parser.read_string(text)
    else:  # Python 2
        parser.readfp(io.StringIO(text))
    return dict((s, dict(parser.items(s))) for s in parser.sections())


def program_names(conf):
    return set(k.split(":", 1)[1] for k in conf if k.startswith("program:"))


def program_changes(old, new):
    """(added, changed, removed) program names between two parsed supervisord.conf files,
    as supervisord's reloadConfig reports them."""
    before, after = program_names(old), program_names(new)
    changed = [n for n in after & before if old["program:" + n] != new["program:" + n]]
    return sorted(after - before), sorted(changed), sorted(before - after)


def global_sections(conf):
    return dict((k, v) for k, v in conf.items() if not k.startswith("program:"))


def unit_name(prefix):
    if prefix == "/opt/storm":
        return "storm-supervisord.service"
    # One unit per prefix, so that two installations never share a name.
    return "storm-supervisord-%s.service" % hashlib.sha1(prefix.encode("utf-8")).hexdigest()[:8]


def start_hint(plan):
    if plan.init == "systemd":
        return "systemctl start %s" % unit_name(plan.prefix)
    return "PYTHONPATH=%s %s -S %s/bin/supervisord -c %s" % (
        plan.site_dir,
        plan.python,
        plan.site_dir,
        plan.conf_path,
    )


def clean_env():
    """This process's environment without what would steer a Python or pip elsewhere."""
    return dict(
        (k, v) for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))
    )


def start_supervisord_direct(plan):
    env = clean_env()
    env["PYTHONPATH"] = plan.site_dir
    # The programs inherit it: their launchers need the base tools (dirname, grep...) even
    # when the operator's PATH is a short one. JAVA_HOME, not PATH, picks their Java.
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    env["PATH"] = os.pathsep.join(path + [p for p in SYSTEM_PATH if p not in path])
    errors = os.path.join(plan.prefix, "run", "supervisord.start-errors")
    with open(errors, "wb") as err, open(os.devnull, "rb") as devnull:
        # supervisord daemonizes: the parent exits once the child is on its own. A file, not
        # a pipe, for its early errors: the daemon may hold on to the descriptor.
        code = subprocess.call(
            [plan.python, "-S", os.path.join(plan.site_dir, "bin", "supervisord")]
            + ["-c", plan.conf_path],
            stdin=devnull,
            stdout=err,
            stderr=subprocess.STDOUT,
            cwd=plan.prefix,
            env=env,
            close_fds=True,
        )
    message = (read_or_none(errors) or b"").decode("utf-8", "replace").strip()
    os.unlink(errors)
    if code != 0:
        raise Unhealthy(
            "supervisord did not start (exit %d): %s\nlast lines of %s:\n%s"
            % (code, message, plan.logfile, health.tail(plan.logfile))
        )


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    try:
        with open("/proc/%d/stat" % pid) as handle:
            # A zombie has stopped; only its parent's wait() is missing.
            return handle.read().rsplit(") ", 1)[1][:1] != "Z"
    except (IOError, OSError, IndexError):
        return True


def read_pid(pidfile):
    try:
        return int(read_bytes(pidfile).strip() or 0) or None
    except (IOError, OSError, ValueError):
        return None


def stop_supervisord(socket_path, pidfile, init, unit):
    """Stop supervisord; wait until it and every program it ran are gone."""
    pids = []
    proxy = health.supervisor(socket_path)
    try:  # noqa: SIM105 (no contextlib.suppress on Python 2)
        pids = [i["pid"] for i in proxy.supervisor.getAllProcessInfo() if i.get("pid")]
    except Exception:  # not answering: the pid file is all there is
        pass
    main_pid = read_pid(pidfile)
    if init == "systemd" and unit:
        run(["systemctl", "stop", os.path.basename(unit)], timeout=SUPERVISORD_STOP_TIMEOUT + 30)
    else:
        try:
            proxy.supervisor.shutdown()
        except Exception:
            if main_pid and pid_alive(main_pid):
                os.kill(main_pid, signal.SIGTERM)
    everyone = [p for p in [main_pid] + pids if p]
    deadline = time.time() + SUPERVISORD_STOP_TIMEOUT
    health.wait(lambda: not any(pid_alive(p) for p in everyone), deadline)
    for pid in everyone:
        if pid_alive(pid):
            warn(
                "pid %d still runs %ds after the stop; killing it" % (pid, SUPERVISORD_STOP_TIMEOUT)
            )
            try:  # noqa: SIM105 (no contextlib.suppress on Python 2)
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


# --- health ---


def check_health(plan):
    """Wait until every program is RUNNING and answers, ZooKeeper first, then for what the
    roles need from other hosts, then the Storm daemons. Returns a report for stdout; raises
    Unhealthy with the failing program's log tail, or naming the peer that is missing."""
    timeout = plan.args.timeout
    deadline = time.time() + timeout
    proxy = health.supervisor(plan.socket)
    lines = []
    peers_done = False
    for name in plan.program_order:
        if not peers_done and ROLE_OF.get(name) != "zookeeper":
            started = time.time()
            lines += wait_for_peers(plan, proxy, lines)
            # Time spent on other hosts is not this host's services' time.
            deadline += time.time() - started
            peers_done = True
        wait_running(proxy, name, deadline, timeout)
        probe = probe_for(ROLE_OF.get(name), plan)
        detail = ""
        if probe is not None:
            what, check = probe

            def answered(check=check, name=name):
                info = proxy.supervisor.getProcessInfo(name)
                if info["state"] != health.RUNNING:
                    raise Unhealthy(failure(name, info, "left RUNNING while being checked"))
                return safe(check)

            detail = health.wait(answered, deadline, 1.0)
            if not detail:
                info = proxy.supervisor.getProcessInfo(name)
                raise Unhealthy(
                    failure(
                        name, info, "is RUNNING but %s did not answer within %ds" % (what, timeout)
                    )
                )
        info = proxy.supervisor.getProcessInfo(name)
        detail = detail or "(no port to probe: RUNNING is its check)"
        lines.append("%-17s RUNNING  pid %-7s %s" % (name, info["pid"], detail))
    if not peers_done:
        lines += wait_for_peers(plan, proxy, lines)
    lines.append(
        "all %d programs healthy; control them with %s"
        % (len(plan.program_order), os.path.join(plan.prefix, "bin", "stormctl"))
    )
    return "\n".join(lines) + "\n"


# --- what this host needs from the others ---


def peer_label(plan, host, port):
    name = cluster.peer_names(plan.bundle.cluster).get(host)
    where = "%s:%d" % (host, port)
    return "%s (%s)" % (name, where) if name and name != host else where


def why_not(exc):
    if isinstance(exc, socket.timeout):
        return "no answer"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def quorum_probe(plan):
    """(ok, detail, missing): a majority of the ensemble answers `srvr` with a serving mode."""
    port = plan.zk_ports["client"]
    servers = plan.zk_servers
    need = len(servers) // 2 + 1
    serving_modes = ("leader", "follower") if len(servers) > 1 else ("standalone",)
    serving, missing = [], []
    for host in servers:
        label = peer_label(plan, host, port)
        try:
            mode = health.zookeeper_mode(host, port, timeout=3.0)
        except (socket.error, OSError, IOError) as exc:
            missing.append("%s: %s" % (label, why_not(exc)))
            continue
        if mode in serving_modes:
            serving.append("%s %s" % (label, mode))
        else:
            missing.append("%s: %s" % (label, "mode %s" % mode if mode else "not serving yet"))
    detail = "%d of %d serving, %d needed" % (len(serving), len(servers), need)
    shown = serving + ["missing " + m for m in missing]
    return len(serving) >= need, "%s: %s" % (detail, "; ".join(shown)), missing


def nimbus_probe(plan):
    """(ok, detail, missing): a Nimbus host accepts connections on its thrift port."""
    port = plan.storm_facts().get("ports", {}).get("nimbus.thrift.port", 6627)
    missing = []
    for host in plan.nimbus_hosts:
        label = peer_label(plan, host, port)
        try:
            sock = socket.create_connection((host, port), 3.0)
        except (socket.error, OSError, IOError) as exc:
            missing.append("%s: %s" % (label, why_not(exc)))
            continue
        sock.close()
        return True, "%s accepts connections" % label, []
    return False, "no Nimbus answers: %s" % "; ".join(missing), missing


def wait_peer(plan, what, probe, fix):
    """Probe until it passes or --peer-timeout runs out, with a progress line now and then.
    Returns the report line; raises Unhealthy naming what is missing (a warning instead with
    --peer-timeout 0)."""
    timeout = plan.args.peer_timeout
    start = time.time()
    reported = None
    while True:
        ok, detail, missing = probe()
        waited = time.time() - start
        if ok:
            if reported is not None:
                say("%s: ready after %ds" % (what, waited))
            return "%-17s %s" % (what, detail)
        if timeout <= 0:
            warn("%s: %s; not waiting (--peer-timeout 0)" % (what, detail))
            return "%-17s NOT READY: %s" % (what, detail)
        if waited >= timeout:
            raise Unhealthy(
                "%s: gave up after %ds (--peer-timeout); missing %s; %s"
                % (what, timeout, ", ".join(missing) or "-", fix)
            )
        if reported is None or time.time() - reported >= PEER_REPORT_EVERY:
            say("waiting up to %ds for %s: %s (%ds so far)" % (timeout, what, detail, waited))
            reported = time.time()
        time.sleep(1.0)


def wait_for_peers(plan, proxy, lines):
    """The ZooKeeper quorum every Storm daemon needs (and every member of an ensemble is part
    of), then Nimbus for a host that runs Storm daemons but not Nimbus."""
    report = []
    storm_roles = [r for r in plan.roles if r in STORM_DAEMONS]
    ensemble = len(plan.zk_servers) > 1
    if storm_roles or ("zookeeper" in plan.roles and ensemble):
        report.append(
            wait_peer(
                plan,
                "ZooKeeper quorum",
                lambda: quorum_probe(plan),
                "start ZooKeeper on those hosts (install this bundle there), or check the "
                "network between the hosts and the ZooKeeper ports",
            )
        )
        if "zookeeper" in plan.roles and ensemble:
            refresh_zookeeper_line(plan, proxy, lines)
    if storm_roles and "nimbus" not in plan.roles:
        report.append(
            wait_peer(
                plan,
                "Nimbus",
                lambda: nimbus_probe(plan),
                "install the Nimbus host, or check the network to its thrift port",
            )
        )
    restart_given_up(plan, proxy)
    return report


def refresh_zookeeper_line(plan, proxy, lines):
    """This member's mode, now that the ensemble has a quorum."""
    name = configs.PROGRAM_NAMES["zookeeper"]
    for index, line in enumerate(lines):
        if line.startswith(name + " "):
            mode = safe(lambda: health.zookeeper_mode("127.0.0.1", plan.zk_ports["client"]))
            if mode:
                info = proxy.supervisor.getProcessInfo(name)
                lines[index] = "%-17s RUNNING  pid %-7s srvr Mode: %s" % (name, info["pid"], mode)


def restart_given_up(plan, proxy):
    """A Storm daemon that gave up (FATAL) while ZooKeeper had no quorum gets another start."""
    for name in plan.program_order:
        if ROLE_OF.get(name) == "zookeeper":
            continue
        info = proxy.supervisor.getProcessInfo(name)
        if info["state"] == health.FATAL:
            say("start %s again: it gave up while its peers were missing" % name)
            proxy.supervisor.startProcess(name, False)


def safe(check):
    try:
        return check()
    except (socket.error, OSError, IOError):
        return None


def wait_running(proxy, name, deadline, timeout):
    while True:
        info = proxy.supervisor.getProcessInfo(name)
        if info["state"] == health.RUNNING:
            return info
        if info["state"] == health.FATAL:
            raise Unhealthy(failure(name, info, "could not be started (FATAL)"))
        if time.time() >= deadline:
            raise Unhealthy(failure(name, info, "was not RUNNING after %ds" % timeout))
        time.sleep(0.5)


def probe_for(role, plan):
    """(what, check) for a role; check() returns a description once it answers."""
    local = "127.0.0.1"
    storm_ports = plan.bundle.storm["facts"].get("ports", {})
    if role == "zookeeper":
        zk = plan.bundle.zookeeper["facts"]
        port = plan.zk_ports["client"]
        # ruok answers only where the release's whitelist (ours, or its default) allows it.
        ruok = zk.get("four_letter_whitelist") or zk.get("four_letter_default") == "*"
        ensemble = len(plan.zk_servers) > 1

        def zk_check():
            said = ""
            if ruok:
                if health.four_letter(local, port, "ruok").strip() != "imok":
                    return None
                said = "ruok imok, "
            mode = health.zookeeper_mode(local, port)
            if mode:
                return "%ssrvr Mode: %s" % (said, mode)
            if ensemble:
                # It answered: a quorum member serves once enough of its ensemble runs, which
                # wait_for_peers waits for.
                return "%swaiting for a quorum of %s" % (said, ",".join(plan.zk_servers))
            return None

        return "ZooKeeper on port %d" % port, zk_check
    keys = {
        "nimbus": ("nimbus.thrift.port", "tcp"),
        "drpc": ("drpc.port", "tcp"),
        "ui": ("ui.port", "http"),
        "logviewer": ("logviewer.port", "http"),
    }
    if role not in keys or keys[role][0] not in storm_ports:
        return None
    key, kind = keys[role]
    port = storm_ports[key]
    if kind == "tcp":
        return "port %d" % port, lambda: health.tcp_open(local, port) and "port %d open" % port

    def http_check():
        status = health.http_status(local, port)
        if status is not None and status < 500:
            return "HTTP %d on port %d" % (status, port)
        return None

    return "HTTP on port %d" % port, http_check


def failure(name, info, what):
    text = "%s %s (state %s%s)" % (
        name,
        what,
        info.get("statename"),
        ": " + info["spawnerr"] if info.get("spawnerr") else "",
    )
    log = info.get("stdout_logfile")
    if log:
        text += "\nlast lines of %s:\n%s" % (log, health.tail(log) or "(empty)")
    return text


# --- uninstall ---


def uninstall(args, bundle):
    """Stop everything and remove what state/installed.json says was installed. Data and logs
    stay (with a small record, so that a later --uninstall --purge finds them) unless --purge.
    The prefix is --prefix, else this host's in the bundle's inventory, else the default."""
    root = os.geteuid() == 0
    entry = identify_host(args, bundle)[0] if not args.prefix else None
    prefix = os.path.normpath(
        args.prefix or (entry and entry.get("prefix")) or default_prefix(root)
    )
    state = load_state(prefix)
    if not state:
        say("nothing installed at %s (no state/installed.json); nothing to do" % prefix)
        return EXIT_OK
    host = Host(prefix, args.dry_run, (None, None), (None, None))
    if state.get("uninstalled") and not args.purge:
        say(
            "nothing installed at %s; data and logs of an earlier installation are there "
            "(--uninstall --purge removes them)" % prefix
        )
        return EXIT_OK
    if not state.get("uninstalled"):
        remove_installation(host, state, args)
    if args.purge:
        host.remove(host.abs("data"))
        host.remove(host.abs("logs"))
        user = state.get("user")
        if user and state.get("user_created") and ids_of(user):
            tool = "userdel" if which("userdel") else "deluser"
            host.command("remove service user %s" % user, [tool, user])
        host.remove(host.abs("state/installed.json"))
    else:
        kept = dict((k, state.get(k)) for k in ("schema", "prefix", "user", "user_created"))
        kept["uninstalled"] = True
        host.change(
            "keep %s and %s; record them in state/installed.json"
            % (host.abs("data"), host.abs("logs"))
        )
        if not args.dry_run:
            host._atomic(host.abs("state/installed.json"), state_bytes(kept), 0o600, None, None)
    host.remove(host.abs("state/lock"))
    for rel, _ in reversed(PREFIX_DIRS):
        path = host.abs(rel)
        if path in host.removed or not os.path.isdir(path) or os.path.islink(path):
            continue
        if host.would_be_empty(path):
            host.change("remove empty folder %s" % path)
            host.removed.add(path)
            if not args.dry_run:
                os.rmdir(path)
    if args.dry_run and not host.changed:
        sys.stdout.write("nothing to change\n")
    return EXIT_OK


def remove_installation(host, state, args):
    socket_path = state.get("socket") or host.abs("run/supervisord.sock")
    pidfile = host.abs("run/supervisord.pid")
    pid = read_pid(pidfile)
    if health.supervisord_state(socket_path) is not None or (pid and pid_alive(pid)):
        host.change("stop supervisord and every program it runs")
        if not args.dry_run:
            stop_supervisord(socket_path, pidfile, state.get("init"), state.get("unit"))
    unit = state.get("unit")
    if unit and os.path.exists(unit):
        name = os.path.basename(unit)
        host.command("disable %s" % name, ["systemctl", "disable", name])
        host.remove(unit)
        host.command("reload systemd's units", ["systemctl", "daemon-reload"])
    for rel in sorted(state.get("files", {})):
        if rel.startswith("data/") and not args.purge:
            continue
        host.remove(host.abs(rel))
        host.remove(host.abs(rel) + ".bak")
    for link in ("storm", "zookeeper", "jdk"):
        if os.path.islink(host.abs(link)):
            host.remove(host.abs(link))
    for top in state.get("releases", []):
        host.remove(host.abs("releases/" + top))
    for rel in ("python/site", "run/supervisord.sock", "run/supervisord.pid"):
        host.remove(host.abs(rel))


# --- main ---


def report_problems(problems):
    say("this host is not ready; nothing was changed:")
    for problem in problems:
        sys.stderr.write("  - %s\n" % problem)
    sys.stderr.flush()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bundle = Bundle(args.bundle_dir)
    if args.uninstall:
        return uninstall(args, bundle)
    plan = Plan(args, bundle, dict(os.environ))
    plan.resolve()
    plan.preflight()
    if plan.problems:
        raise PrerequisitesMissing(plan.problems)
    say(
        "%s: roles %s; Java %s at %s; supervisord on Python %s (%s); Storm launcher on %s"
        % (
            bundle.name,
            ",".join(plan.roles) or "(none given)",
            plan.java_major,
            plan.java_home,
            plan.python_version,
            plan.python,
            plan.launcher_python or "-",
        )
    )
    for note in plan.notes:
        say(note)
    if args.check:
        say("preflight ok: this host can take %s into %s" % (bundle.name, plan.prefix))
        return EXIT_OK
    installer = Installer(plan)
    report = installer.install()
    if report:
        sys.stdout.write(report)
    if plan.dry_run and not installer.host.changed:
        sys.stdout.write("nothing to change\n")
    return EXIT_OK


def entry_point():
    try:
        code = main()
    except PrerequisitesMissing as exc:
        report_problems(exc.problems)
        code = exc.exit_code
    except InstallError as exc:
        say("error: %s" % exc)
        code = exc.exit_code
    except KeyboardInterrupt:
        say("interrupted")
        code = 130
    except EnvironmentError as exc:
        say("error: %s" % exc)
        code = EXIT_ERROR
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
