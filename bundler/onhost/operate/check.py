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
import sys

from ..errors import EXIT_OK, EXIT_UNHEALTHY
from ..host import pristine
from ..host.ownership import layout_problems
from ..host.state import load_state
from ..host.system import read_bytes, read_or_none
from ..render.supervisordconf import parse_conf, program_order
from . import liveness

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import IO, Any, Dict, List, Optional, Tuple  # noqa: F401

# The diff's context lines, as the installer's --dry-run shows them.
CONTEXT = 1


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
    return program_order(parse_conf(data))


def program_report(prefix, state):
    # type: (str, Dict[str, Any]) -> Tuple[List[str], List[str]]
    socket_path = liveness.socket_of(prefix, state)
    supervisord, entries = liveness.programs(prefix, state, expected_programs(prefix))
    if supervisord is None:
        return (
            ["%-17s NOT ANSWERING on %s" % ("supervisord", socket_path)],
            ["supervisord not answering"],
        )
    lines = ["%-17s %s" % ("supervisord", supervisord)]
    problems = [] if supervisord == "RUNNING" else ["supervisord %s" % supervisord]
    for entry in entries:
        lines.append(program_line(entry))
        problems += entry["problems"]
    return lines, problems


def program_line(entry):
    # type: (Dict[str, Any]) -> str
    """`name  STATE  pid N answer srvr Mode: m`, as much as is known."""
    if entry["state"] == "NOT LOADED":
        return "%-17s NOT LOADED in supervisord" % entry["name"]
    line = "%-17s %-9s" % (entry["name"], entry["state"])
    if entry["pid"] is not None:
        line += " pid %s" % entry["pid"]
    if entry["answer"]:
        line += " " + entry["answer"]
    if "zookeeper_mode" in entry:
        line += " srvr Mode: %s" % (entry["zookeeper_mode"] or "none (not serving)")
    return line


def ensemble_line(found):
    # type: (Dict[str, Any]) -> str
    port = found["port"]
    said = ", ".join(
        "%s:%d %s" % (m["host"], port, m["mode"] or "not serving") for m in found["members"]
    )
    return "ZooKeeper quorum  %s: %d of %d serving, %d needed; leader %s (%s)" % (
        "ok" if found["quorum"] else "LOST",
        found["serving"],
        len(found["members"]),
        found["needed"],
        ",".join(found["leaders"]) or "none",
        said,
    )


def ensemble_report(state):
    # type: (Dict[str, Any]) -> Tuple[List[str], List[str]]
    """The ensemble this host's programs use: a majority serving, and its leader."""
    found = liveness.ensemble(state)
    if found is None:
        return [], []
    return [ensemble_line(found)], list(found["problems"])


def cluster_line(cluster):
    # type: (Dict[str, Any]) -> str
    if cluster["asked"] is None:
        return "%-17s not asked: %s" % ("storm cluster", "; ".join(cluster["unanswered"]))
    hosts = ", ".join(
        "%s (%d/%d slots used)" % (s["host"], s["used"], s["slots"]) for s in cluster["supervisors"]
    )
    return "%-17s Nimbus %s leads; %d supervisors%s; %d of %d slots free; %d topologies" % (
        "storm cluster",
        cluster["leader"] or "(none)",
        len(cluster["supervisors"]),
        ": " + hosts if hosts else "",
        cluster["free_slots"],
        cluster["slots"],
        len(cluster["topologies"]),
    )


def cluster_report(state, problems):
    # type: (Dict[str, Any], List[str]) -> Tuple[List[str], List[str]]
    """What Nimbus says of the cluster this host is part of (liveness.storm_cluster), with
    this host's supervisor judged there only when its program has no problem (problems)."""
    supervisor_up = not [p for p in problems if p.startswith("storm-supervisor")]
    found = liveness.storm_cluster(state, supervisor_up)
    if found is None:
        return [], []
    return [cluster_line(found)], list(found["problems"])


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
        programs = program_report(prefix, state)
        reports += [programs, ensemble_report(state), cluster_report(state, programs[1])]
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
