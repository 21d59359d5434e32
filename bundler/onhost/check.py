"""Drift and health on demand: what differs from what the last run wrote, and how every program
is doing now. `install.sh --check` runs it when its bundle is installed at the prefix; it needs
no bundle (`run_check(prefix)`), only what the prefix keeps: state/installed.json and the
copies under state/written/ (pristine.py).

Reports, in this order: each generated file changed by hand (a unified diff against what was
written; the web password only as changed), each file of the record that is missing, then
supervisord, each program's state, this host's ZooKeeper (`srvr` mode) and its ensemble (quorum
and leader). Exit 0 when all is well, 5 (as an unhealthy install) when anything is not.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import difflib
import hashlib
import os
import re
import socket
import sys

from . import health, pristine
from .errors import EXIT_OK, EXIT_UNHEALTHY
from .ownership import layout_problems
from .state import load_state
from .supervisord import parse_conf
from .system import read_bytes, read_or_none

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import IO, Any, Dict, List, Optional, Tuple  # noqa: F401

# The diff's context lines, as the installer's --dry-run shows them.
CONTEXT = 1
ZK_PROGRAM = "zookeeper"
SERVING = ("leader", "follower", "standalone")
# role -> (the release's port key, how to ask): as the install's own health check asks.
PORT_PROBES = {
    "nimbus": ("nimbus.thrift.port", "tcp"),
    "drpc": ("drpc.port", "tcp"),
    "ui": ("ui.port", "http"),
    "logviewer": ("logviewer.port", "http"),
}


def probes(storm_ports, roles):
    # type: (Dict[str, int], Dict[str, Optional[str]]) -> Dict[str, List[Any]]
    """{program: [kind, port]} for the programs (with their roles) that have a port to ask;
    recorded in state/installed.json at install time."""
    found = {}  # type: Dict[str, List[Any]]
    for name, role in roles.items():
        key, kind = PORT_PROBES.get(role or "", (None, None))
        if key in storm_ports:
            found[name] = [kind, int(storm_ports[key])]
    return found


def answers(probe):
    # type: (List[Any]) -> Tuple[bool, str]
    kind, port = probe[0], int(probe[1])
    if kind == "http":
        status = health.http_status("127.0.0.1", port)
        if status is not None and status < 500:
            return True, "HTTP %d on port %d" % (status, port)
        return False, "no HTTP answer on port %d" % port
    if health.tcp_open("127.0.0.1", port):
        return True, "port %d open" % port
    return False, "port %d not answering" % port


def shown(text):
    # type: (str) -> str
    """A line safe for a terminal: printable ASCII as it is, anything else escaped."""
    out = []
    for char in text:
        if char == "\t" or " " <= char <= "~":
            out.append(char)
        elif ord(char) < 0x100:
            out.append("\\x%02x" % ord(char))
        else:
            out.append("\\u%04x" % ord(char) if ord(char) < 0x10000 else "\\U%08x" % ord(char))
    return "".join(out)


def hide_secrets(line):
    # type: (str) -> str
    """supervisord.conf's password line (a {SHA} hash) stays off the terminal."""
    return re.sub(r"^([-+ ]\s*password\s*=).*", r"\1(hidden)", line)


def file_report(prefix, state):
    # type: (str, Dict[str, Any]) -> Tuple[List[str], List[str]]
    """(lines, problems) for the files the record lists."""
    lines, problems = [], []  # type: List[str], List[str]
    same = 0
    for rel in sorted(state.get("files") or {}):
        path = os.path.join(prefix, *rel.split("/"))
        try:
            data = read_bytes(path)  # as the service user in its folders (boundary.py)
        except (IOError, OSError):
            lines.append("missing: %s" % rel)
            problems.append("%s missing" % rel)
            continue
        written = pristine.read(prefix, rel)
        if written is None:
            # The web password (by its recorded sha256, and its mode: a secret stays 0600),
            # or a file written before copies were kept.
            secret = rel in pristine.NOT_COPIED
            mode = os.stat(path).st_mode & 0o7777
            found = len(problems)
            if hashlib.sha256(data).hexdigest() != state["files"][rel]:
                why = "a secret: not shown" if secret else "no copy to diff"
                lines.append("changed: %s (%s)" % (rel, why))
                problems.append("%s changed" % rel)
            if secret and mode != pristine.SECRET_MODE:
                lines.append(
                    "changed: %s mode %04o, written %04o" % (rel, mode, pristine.SECRET_MODE)
                )
                problems.append("%s mode changed" % rel)
            same += len(problems) == found
            continue
        mode, want = os.stat(path).st_mode & 0o7777, pristine.mode_of(prefix, rel)
        if data == written and mode == want:
            same += 1
            continue
        if data != written:
            lines.append("changed: %s, by hand (- as written, + on disk):" % rel)
            lines += ["    " + shown(hide_secrets(line)) for line in diff(written, data, rel)]
            problems.append("%s changed" % rel)
        if mode != want:
            lines.append("changed: %s mode %04o, written %04o" % (rel, mode, want or 0))
            if data == written:
                problems.append("%s mode changed" % rel)
    lines.insert(0, "files: %d of %d as written" % (same, len(state.get("files") or {})))
    return lines, problems


def diff(old, new, rel):
    # type: (bytes, bytes, str) -> List[str]
    lines = difflib.unified_diff(
        old.decode("utf-8", "replace").splitlines(),
        new.decode("utf-8", "replace").splitlines(),
        "%s (written)" % rel,
        "%s (on disk)" % rel,
        lineterm="",
        n=CONTEXT,
    )
    return list(lines)


def expected_programs(prefix):
    # type: (str) -> List[str]
    """The programs of supervisord.conf as written (as on disk without a copy), in start
    order."""
    data = pristine.read(prefix, "etc/supervisord.conf")
    if data is None:
        data = read_or_none(os.path.join(prefix, "etc", "supervisord.conf"))
        if data is None:
            return []
    conf = parse_conf(data)
    order = [
        (int(v.get("priority", 999)), k.split(":", 1)[1])
        for k, v in conf.items()
        if k.startswith("program:")
    ]
    return [name for _, name in sorted(order)]


def program_report(prefix, state):
    # type: (str, Dict[str, Any]) -> Tuple[List[str], List[str]]
    socket_path = state.get("socket") or os.path.join(prefix, "run", "supervisord.sock")
    names = expected_programs(prefix)
    supervisord = health.supervisord_state(socket_path)
    if supervisord is None:
        return (
            ["%-17s NOT ANSWERING on %s" % ("supervisord", socket_path)],
            ["supervisord not answering"],
        )
    lines = ["%-17s %s" % ("supervisord", supervisord)]
    problems = [] if supervisord == "RUNNING" else ["supervisord %s" % supervisord]
    infos = health.process_infos(health.supervisor(socket_path))
    for name in names:
        info = infos.get(name)
        if info is None:
            lines.append("%-17s NOT LOADED in supervisord" % name)
            problems.append("%s not loaded" % name)
            continue
        line = "%-17s %-9s" % (name, info["statename"])
        if info["state"] == health.RUNNING:
            line += " pid %s" % info["pid"]
        else:
            problems.append("%s %s" % (name, info["statename"]))
        probe = (state.get("probes") or {}).get(name)
        if probe and info["state"] == health.RUNNING:
            ok, said = answers(probe)
            line += " " + said
            if not ok:
                problems.append("%s: %s" % (name, said))
        if name == ZK_PROGRAM and info["state"] == health.RUNNING:
            port = zk_port(state)
            mode = zk_mode("127.0.0.1", port)
            line += " srvr Mode: %s" % (mode or "none (not serving)")
            if mode not in SERVING:
                problems.append("ZooKeeper not serving on port %d" % port)
        lines.append(line)
    return lines, problems


def zk_port(state):
    # type: (Dict[str, Any]) -> int
    ports = (state.get("values") or {}).get("zk_ports") or {}
    return int(ports.get("client") or 2181)


def zk_mode(host, port):
    # type: (str, int) -> Optional[str]
    try:
        mode = health.zookeeper_mode(host, port, timeout=3.0)  # type: Optional[str]
    except (socket.error, OSError, IOError):
        return None
    return mode


def ensemble_report(state):
    # type: (Dict[str, Any]) -> Tuple[List[str], List[str]]
    """The ensemble this host's programs use: a majority serving, and its leader."""
    values = state.get("values") or {}
    servers = list(values.get("zk_servers") or [])
    if not servers or not values.get("roles"):
        return [], []
    port = zk_port(state)
    modes = [(host, zk_mode(host, port)) for host in servers]
    # As the installer's own wait counts them: a member of an ensemble serves as leader or
    # follower; a single server as standalone.
    lead = "leader" if len(servers) > 1 else "standalone"
    serving = [h for h, m in modes if m in (lead, "follower")]
    need = len(servers) // 2 + 1
    leaders = [h for h, m in modes if m == lead]
    said = ", ".join("%s:%d %s" % (h, port, m or "not serving") for h, m in modes)
    quorum = len(serving) >= need
    line = "ZooKeeper quorum  %s: %d of %d serving, %d needed; leader %s (%s)" % (
        "ok" if quorum else "LOST",
        len(serving),
        len(servers),
        need,
        ",".join(leaders) or "none",
        said,
    )
    problems = []
    if not quorum:
        problems.append("no ZooKeeper quorum")
    elif not leaders:
        problems.append("no ZooKeeper leader answers")
    return [line], problems


def run_check(prefix, out=None):
    # type: (str, Optional[IO[str]]) -> int
    """Report drift and health of the installation at prefix on out (stdout); 0 when all is
    well, 5 otherwise."""
    out = out or sys.stdout
    state = load_state(prefix)
    if not state or state.get("uninstalled"):
        out.write("check: nothing installed at %s\n" % prefix)
        return EXIT_UNHEALTHY
    bundle = (state.get("bundle") or {}).get("name") or "?"
    lines = ["check of %s (bundle %s)" % (prefix, bundle)]
    problems = []  # type: List[str]
    layout = layout_problems(prefix, state)
    said = ["privilege boundary  %s" % ("ok" if not layout else "BROKEN")]
    reports = [(said + ["  " + p for p in layout], layout), file_report(prefix, state)]
    if state.get("programs"):
        reports += [program_report(prefix, state), ensemble_report(state)]
    else:
        # The record names no program started: an install with --no-start is not unhealthy.
        reports.append((["programs: none started here yet (--no-start): health not checked"], []))
    for report in reports:
        lines += report[0]
        problems += report[1]
    if problems:
        lines.append("check: %d problem(s): %s" % (len(problems), "; ".join(problems)))
    else:
        lines.append("check: all well")
    out.write("\n".join(lines) + "\n")
    out.flush()
    return EXIT_UNHEALTHY if problems else EXIT_OK
