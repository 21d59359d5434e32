"""Preflight: every check of this host for a plan, each problem with its fix, asked through
the host's facts (facts.HostFacts); nothing here changes the host."""

from __future__ import absolute_import, print_function

import os
import re

from ..contract.versions import satisfies, version_tuple
from ..host.facts import LAUNCHER_PYTHON_PATHS, LAUNCHER_PYTHONS
from ..render.roles import STORM_DAEMONS
from . import ports as portlist

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

    from ..host.facts import HostFacts  # noqa: F401
    from .model import Plan  # noqa: F401


def check(plan, facts):
    # type: (Plan, HostFacts) -> None
    """Fill in what this host has and collect every problem; nothing is changed."""
    check_permissions(plan, facts)
    check_tools(plan, facts)
    check_python(plan, facts)
    check_java(plan, facts)
    check_launcher_python(plan, facts)
    check_disk(plan, facts)
    check_ports(plan, facts)
    check_password_file(plan, facts)
    plan.memory_mb = facts.memory_mb()


def release_file(plan, facts, component, rel, limit):
    # type: (Plan, HostFacts, Dict[str, Any], str, int) -> Optional[bytes]
    """The first bytes of a file of a release, from the unpacked release when present,
    else from its tarball."""
    unpacked = os.path.join(plan.prefix, "releases", component["top"], rel)
    if facts.is_file(unpacked):
        return facts.read(unpacked, limit)
    return facts.member(
        plan.bundle.path(component["artifact"]), component["top"] + "/" + rel, limit
    )


def check_permissions(plan, facts):
    # type: (Plan, HostFacts) -> None
    if plan.root:
        creatable = facts.which("useradd") or facts.which("adduser")
        if plan.user and facts.user_ids(plan.user) is None and not creatable:
            plan.problem(
                "service user %s does not exist and neither useradd nor adduser is "
                "here; fix: create the user, or install the passwd/shadow tools" % plan.user
            )
        ids = facts.user_ids(plan.user) if plan.user else None
        blocked = facts.reachable(plan.prefix, ids) if plan.user else None
        if blocked:
            plan.problem(
                "service user %s cannot reach %s: %s is mode %s; fix: chmod o+x %s, or "
                "choose another --prefix"
                % (
                    plan.user,
                    plan.prefix,
                    blocked,
                    oct(facts.mode(blocked) & 0o777),
                    blocked,
                )
            )
    else:
        existing = facts.nearest_existing(plan.prefix)
        if not facts.writable(existing):
            plan.problem(
                "cannot install into %s: %s is not writable by %s; fix: run as root, or "
                "pass --prefix with a folder you own" % (plan.prefix, existing, facts.user)
            )
        if plan.args.init == "systemd":
            plan.problem("--init systemd needs root; fix: run as root or use --init none")
    if plan.args.init == "systemd" and not facts.systemd_running():
        plan.problem(
            "--init systemd but systemd does not run this host (no /run/systemd/system); "
            "fix: use --init none (or auto)"
        )


def check_tools(plan, facts):
    # type: (Plan, HostFacts) -> None
    if plan.init == "systemd" and not facts.which("systemctl"):
        plan.problem("systemctl not found for --init systemd; fix: use --init none")
    if "zookeeper" in plan.roles:
        shebang = release_file(plan, facts, plan.bundle.zookeeper, plan.zk_facts()["launcher"], 256)
        line = (shebang or b"").split(b"\n", 1)[0].decode("utf-8", "replace")
        for shell in ("bash", "sh"):
            if line.startswith("#!") and re.search(r"\b%s\b" % shell, line):
                if not facts.which(shell) and not facts.exists("/bin/" + shell):
                    plan.problem(
                        "ZooKeeper's %s needs %s (%s); fix: install %s"
                        % (plan.zk_facts()["launcher"], shell, line, shell)
                    )
                break


def check_python(plan, facts):
    # type: (Plan, HostFacts) -> None
    entry = plan.bundle.python_entry(facts.version_info)
    if entry is None:
        plan.problem(
            "%s is Python %s, which this bundle has no packages for (it has %s); fix: pass "
            "--python with one of those"
            % (
                plan.python,
                plan.python_version,
                ", ".join(sorted(plan.bundle.pythons, key=version_tuple)),
            )
        )
    plan.python_entry = entry
    plan.python_lock = facts.sha256(plan.bundle.path(entry["lock"])) if entry else None
    # The supervisord environment of an earlier run is kept when nothing it depends on
    # changed: same interpreter, same version, same lock.
    state = plan.state if plan.installed_here() else None
    plan.site_ok = bool(
        state
        and entry
        and state.get("python") == plan.python_record()
        and facts.is_file(os.path.join(plan.site_dir, "bin", "supervisord"))
    )


def check_java(plan, facts):
    # type: (Plan, HostFacts) -> None
    low, high, needs = None, None, []
    components = []
    if any(r in STORM_DAEMONS for r in plan.roles):
        components.append(("Storm", plan.bundle.storm))
    if "zookeeper" in plan.roles or not plan.roles:
        components.append(("ZooKeeper", plan.bundle.zookeeper))
    if not plan.roles:
        components.append(("Storm", plan.bundle.storm))
    for display, component in components:
        release = component["facts"]
        if release.get("java_min"):
            low = max(low or 0, release["java_min"])
        if release.get("java_max"):
            high = min(high or 1000, release["java_max"])
        needs.append("%s %s" % (display, component["version"]))
    if low and high and low > high:
        plan.problem(
            "%s need Java versions that do not overlap; fix: build a bundle with releases "
            "of the same era (see `bundler recipes`)" % " and ".join(needs)
        )
    plan.java_home, plan.java_major, problem = facts.find_java(low, high, " and ".join(needs))
    plan.bundled_jdk = None
    jdk = plan.bundle.manifest["components"].get("jdk")
    if problem and jdk:
        major = jdk.get("java_major") or 0
        if (not low or major >= low) and (not high or major <= high):
            # The host's Java does not do: the JDK the bundle carries does.
            plan.bundled_jdk = jdk
            plan.java_home = os.path.join(plan.prefix, "jdk")
            plan.java_major = major
            plan.notes.append(
                "using the bundle's JDK (Java %s) as %s: %s"
                % (jdk.get("version"), plan.java_home, problem.split("; fix:")[0])
            )
            return
        problem += "; the bundle's JDK is Java %d, which does not fit either" % major
    if problem:
        plan.problem(problem)
    elif plan.user and plan.java_home:
        java = os.path.join(plan.java_home, "bin", "java")
        blocked = facts.reachable(java, facts.user_ids(plan.user))
        if blocked:
            plan.problem(
                "service user %s cannot run %s (%s is in the way); fix: install a Java "
                "outside private folders and set JAVA_HOME" % (plan.user, java, blocked)
            )


def check_launcher_python(plan, facts):
    # type: (Plan, HostFacts) -> None
    plan.launcher_python = None
    if not any(r in STORM_DAEMONS for r in plan.roles) and plan.roles:
        return
    spec = plan.storm_facts().get("launcher_python") or ">=2.6"
    ids = facts.user_ids(plan.user) if plan.user else None
    candidates = []  # type: List[Optional[str]]
    if plan.args.launcher_python:
        candidates = [plan.args.launcher_python]
    else:
        path = facts.env.get("PATH", "")
        candidates = [facts.which(n, path) for n in LAUNCHER_PYTHONS]
        candidates += list(LAUNCHER_PYTHON_PATHS) + [facts.python]
    tried = []
    seen = set()
    for candidate in candidates:
        if not candidate or candidate in seen:
            continue
        seen.add(candidate)
        info = facts.python_info(candidate)
        if info is None:
            if plan.args.launcher_python:
                tried.append("%s does not run" % candidate)
            continue
        executable, version = info
        label = "%s (%s)" % (executable, ".".join(map(str, version)))
        if not satisfies(version, spec):
            tried.append(label + " is outside " + spec)
            continue
        if plan.user and facts.reachable(executable, ids):
            tried.append(label + " is not reachable by user " + plan.user)
            continue
        plan.launcher_python = executable
        return
    plan.problem(
        "Storm %s's launcher needs Python %s%s; tried: %s; fix: install one (e.g. "
        "apt-get install %s) or pass --launcher-python PATH"
        % (
            plan.bundle.storm["version"],
            spec,
            " that user %s can run" % plan.user if plan.user else "",
            "; ".join(tried) or "nothing found",
            "python2" if satisfies((3, 99), spec) is False else "python3-minimal",
        )
    )


# Files a release tarball unpacks to, estimated from its size (no entry count is recorded and
# reading a large .tar.gz just to count takes seconds): generous, as the space estimate is.
INODES_PER_ARTIFACT = 1000
ARTIFACT_BYTES_PER_INODE = 64 << 10
INODES_PER_WHEEL = 200
INODES_OTHER = 200  # configs, state, the installer's package, logs


def check_disk(plan, facts):
    # type: (Plan, HostFacts) -> None
    need = 64 << 20
    inodes = INODES_OTHER
    for component in plan.components().values():
        if not facts.is_dir(os.path.join(plan.prefix, "releases", component["top"])):
            size = facts.size(plan.bundle.path(component["artifact"]))
            need += size * 3  # release tarballs unpack to about 2 to 3 times their size
            inodes += INODES_PER_ARTIFACT + size // ARTIFACT_BYTES_PER_INODE
    if plan.python_entry and not plan.site_ok:
        for wheel in plan.python_entry["wheels"]:
            need += facts.size(plan.bundle.path(wheel)) * 3
            inodes += INODES_PER_WHEEL
    where = facts.nearest_existing(plan.prefix)
    have = facts.free_bytes(plan.prefix)
    if have < need:
        plan.problem(
            "%s has %d MB free, the installation needs about %d MB; fix: free some space "
            "or choose another --prefix" % (where, have >> 20, (need >> 20) + 1)
        )
    files = facts.free_inodes(plan.prefix)
    if files is not None and files < inodes:
        plan.problem(
            "%s has %d inodes free, the installation needs about %d (one per file and folder); "
            "fix: remove files there or choose another --prefix on a filesystem with more "
            "inodes" % (where, files, inodes)
        )


def check_copy_space(plan, facts):
    # type: (Plan, HostFacts) -> None
    """An upgrade copies ZooKeeper's data before its member runs the new release: the copy
    must fit (bytes and inodes) beside the data, checked before anything changes."""
    up = plan.upgrade
    if up is None or not up.zk_copy:
        return
    data = os.path.join(plan.prefix, "data", "zookeeper")
    size, entries = facts.usage(data)
    need, inodes = size + size // 20 + (16 << 20), entries + 16
    have = facts.free_bytes(os.path.dirname(data))
    free = facts.free_inodes(os.path.dirname(data))
    if free is None:  # a filesystem without an inode count (btrfs): bytes are what count
        free = inodes
    if have < need or free < inodes:
        plan.problem(
            "copying ZooKeeper's data (%s: %d MB in %d files and folders) before the upgrade "
            "needs %d MB and %d inodes free on the filesystem of %s, which has %d MB and %d; "
            "nothing was changed. Fix: free space there (older copies are %s.before-*), then "
            "run again" % (data, size >> 20, entries, (need >> 20) + 1, inodes,
                           os.path.dirname(data), have >> 20, free, data)
        )  # fmt: skip


def ports(plan, roles):
    # type: (Plan, List[str]) -> List[Tuple[int, str]]
    """(port, what) for every port these roles open on this host, supervisord's aside."""
    values = {
        "roles": roles,
        "zk_ports": plan.zk_ports,
        "zk_servers": plan.zk_servers,
        "slots": plan.slots,
        "http_bind": plan.http_bind,
        "http_port": plan.http_port,
        "storm_options": plan.extras.get("storm_options"),
        "zk_options": plan.extras.get("zk_options"),
    }
    found = portlist.listening(values, plan.storm_facts(), plan.zk_facts())
    return [(e["port"], e["what"]) for e in found if e["role"] != "supervisord"]


def check_ports(plan, facts):
    # type: (Plan, HostFacts) -> None
    if not plan.roles:
        plan.notes.append("no --role given: ports not checked")
        return
    ours = set()
    state = plan.state if plan.installed_here() else None
    if state and facts.supervisord_running(state.get("socket", "")):
        # Held by this installation's own programs: a re-run needs them, not free.
        ours = set(p for p, _ in ports(plan, state.get("roles", [])))
        ours.add(state.get("values", {}).get("http_port"))
    wanted = ports(plan, plan.roles)
    if plan.http_port not in ours:
        address = "0.0.0.0" if plan.http_bind in ("0.0.0.0", "*", "") else plan.http_bind
        wanted.append((plan.http_port, "supervisord web interface on " + address))
    for port, what in wanted:
        if port in ours:
            continue
        problem = facts.port_problem(port)
        if problem:
            plan.problem(
                "port %d for the %s is %s; fix: stop what holds it, or leave that role to "
                "another host" % (port, what, problem)
            )


def check_password_file(plan, facts):
    # type: (Plan, HostFacts) -> None
    path = plan.args.web_password_file
    plan.web_password = None
    if not path:
        return
    try:
        text = facts.read(path).decode("utf-8").strip("\r\n")
    except (IOError, OSError, UnicodeDecodeError) as exc:
        plan.problem(
            "--web-password-file %s cannot be read (%s); fix: give a readable file that "
            "holds the password" % (path, exc)
        )
        return
    if not text.strip() or "\n" in text:
        plan.problem(
            "--web-password-file %s must hold one non-empty line; fix: write the password "
            "on one line" % path
        )
        return
    plan.web_password = text
