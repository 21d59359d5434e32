"""`stormctl status [--json]`: the installed bundle and its versions, the previous install kept
for a rollback, each program's state, answer and log files, ZooKeeper's mode and the ensemble's
quorum. A status scripts can trust: exit 0 only when every program of this host is RUNNING and
answers and the ensemble it uses has a quorum and a leader (liveness.py, the rule `stormctl
check` applies too); 5 otherwise (supervisord silent, or nothing started, included); 1 with
nothing installed; 2 for a usage error. --json prints the same as one object for monitors."""

from __future__ import absolute_import, print_function

import json
import os
import sys

from ..apply import datacopy
from ..apply.previous import PREVIOUS, versions_text
from ..errors import EXIT_ERROR, EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE
from ..host.state import load_state, read_record
from . import check, liveness

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional  # noqa: F401


def previous_record(prefix):
    # type: (str) -> Optional[Dict[str, Any]]
    try:
        return read_record(os.path.join(prefix, *(PREVIOUS + "/installed.json").split("/")))
    except ValueError:
        return None


USAGE = "usage: stormctl status [--json]"


def status(prefix, args):
    # type: (str, List[str]) -> int
    if args not in ([], ["--json"]):
        sys.stderr.write(
            "stormctl status: expected nothing or --json, found %s; %s\n" % (" ".join(args), USAGE)
        )
        return EXIT_USAGE
    state = load_state(prefix)
    if not state or state.get("uninstalled"):
        sys.stderr.write("stormctl status: nothing installed at %s\n" % prefix)
        return EXIT_ERROR
    report = gather(prefix, state)
    if args:
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write("\n".join(text(report)) + "\n")
    code = report["exit"]  # type: int
    return code


def copy_report(prefix, rel):
    # type: (str, str) -> Dict[str, Any]
    """A ZooKeeper data copy with its manifest's facts (datacopy.py); not re-hashed here."""
    path = os.path.join(prefix, *rel.split("/"))
    manifest = datacopy.manifest_of(path)
    facts = datacopy.describe(manifest) if manifest else "no manifest: not a usable copy"
    keys = ("release", "zxid", "taken")
    return {
        "path": path,
        "facts": facts,
        "manifest": dict((k, manifest.get(k)) for k in keys) if manifest else None,
    }


def gather(prefix, state):
    # type: (str, Dict[str, Any]) -> Dict[str, Any]
    """Everything status reports, as --json prints it; "exit" is the status's exit code."""
    old = previous_record(prefix)
    report = {
        "prefix": prefix,
        "bundle": state.get("bundle") or {},
        "versions": versions_text(state) or None,
        "previous": None,
        "zookeeper_data_copies": [
            copy_report(prefix, rel) for rel in state.get("zk_data_copies") or []
        ],
        "supervisord": None,
        "programs": [],
        "ensemble": None,
        "storm_cluster": None,
        "problems": [],
    }  # type: Dict[str, Any]
    if old:
        report["previous"] = {
            "bundle": (old.get("bundle") or {}).get("name"),
            "versions": versions_text(old),
            "kept_in": os.path.join(prefix, PREVIOUS),
        }
    problems = report["problems"]  # type: List[str]
    if state.get("programs"):
        names = check.expected_programs(prefix)
        supervisord, report["programs"] = liveness.programs(prefix, state, names)
        report["supervisord"] = supervisord
        if supervisord is None:
            problems.append("supervisord not answering on %s" % liveness.socket_of(prefix, state))
        elif supervisord != "RUNNING":
            problems.append("supervisord %s" % supervisord)
        for entry in report["programs"]:
            problems += entry["problems"]
        report["ensemble"] = liveness.ensemble(state)
        problems += (report["ensemble"] or {}).get("problems", [])
        supervisor_up = not [
            e for e in report["programs"] if e["role"] == "supervisor" and e["problems"]
        ]
        report["storm_cluster"] = liveness.storm_cluster(state, supervisor_up)
        problems += (report["storm_cluster"] or {}).get("problems", [])
    else:
        problems.append("no program started here yet (installed with --no-start)")
    report["healthy"] = not problems
    report["exit"] = EXIT_OK if not problems else EXIT_UNHEALTHY
    return report


def text(report):
    # type: (Dict[str, Any]) -> List[str]
    bundle = report["bundle"]
    out = [
        "installed: %s (id %s) at %s" % (bundle.get("name"), bundle.get("id"), report["prefix"]),
        "versions:  %s" % (report["versions"] or "(not recorded)"),
    ]
    old = report["previous"]
    if old:
        out.append(
            "previous:  %s (%s), kept in %s; `stormctl rollback` returns to it"
            % (old["bundle"], old["versions"], old["kept_in"])
        )
    else:
        out.append("previous:  none kept (nothing to roll back)")
    out += [
        "zookeeper data copy: %s: %s" % (copy["path"], copy["facts"])
        for copy in report["zookeeper_data_copies"]
    ]
    if report["supervisord"] is not None:
        out.append("%-17s %s" % ("supervisord", report["supervisord"]))
    elif report["problems"] and report["problems"][0].startswith("supervisord"):
        out.append(report["problems"][0])
    for entry in report["programs"]:
        out.append("  " + check.program_line(entry))
        out += ["      log: %s (%s)" % (log["path"], log["what"]) for log in entry["logs"]]
    if report["ensemble"]:
        out.append(check.ensemble_line(report["ensemble"]))
    if report["storm_cluster"]:
        out.append(check.cluster_line(report["storm_cluster"]))
    if report["healthy"]:
        out.append("status: healthy")
    else:
        problems = report["problems"]
        out.append("status: %d problem(s): %s" % (len(problems), "; ".join(problems)))
    return out
