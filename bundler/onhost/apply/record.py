"""One run of the installer, as a record: the Host that makes every change, the state record
of the installation it replaces (`old`) and the one it writes (state/installed.json), and what
it has changed so far. Installer makes it (begin) and passes it, with the plan, to the steps
below it (programs, previous, selfcopy): they read and fill it in, and never call back into
Installer."""

from __future__ import absolute_import, print_function

import os

from ..contract import contract
from ..host.host import Host
from ..host.ownership import created_before, log_files
from ..host.state import STATE_SCHEMA, state_bytes
from ..host.system import read_bytes, sha256_bytes, to_bytes
from ..plan import ports, upgrade
from ..render.roles import ROLE_OF
from ..render.supervisordconf import parse_conf

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Mapping, Optional, Union  # noqa: F401

    from ..plan.model import Plan  # noqa: F401


class Run(object):
    """What one run knows and has done: its Host, the old and the new state record, and which
    changes make supervisord or its programs start again (programs.start)."""

    def __init__(self, host, old, state):
        # type: (Host, Dict[str, Any], Dict[str, Any]) -> None
        self.host = host
        self.old = old
        self.state = state
        self.site_changed = False
        self.unit_changed = False
        self.conf_changed = False
        self.global_changed = False


def begin(plan):
    # type: (Plan) -> Run
    """The run that carries plan out: the record it starts from, and its Host."""
    old = (plan.state if plan.installed_here() else None) or {}
    previous = plan.state or {}
    state = new_record(plan, old, previous)
    owner = (os.geteuid(), os.getegid()) if plan.root else (None, None)
    host = Host(plan.prefix, plan.dry_run, owner, owner, created_before(previous))
    return Run(host, old, state)


def new_record(plan, old, previous):
    # type: (Plan, Dict[str, Any], Dict[str, Any]) -> Dict[str, Any]
    """The state record this run writes, as it starts: the plan's decisions, and what the
    installed record (old; previous also when an --uninstall left it) says still holds."""
    bundle = plan.bundle
    return {
        "schema": STATE_SCHEMA,
        "prefix": plan.prefix,
        "bundle": {"name": bundle.name, "id": bundle.id},
        "user": plan.user,
        # Also from what an --uninstall without --purge left: the user is still ours.
        "user_created": bool(previous.get("user_created")) and previous.get("user") == plan.user,
        "roles": plan.roles,
        "values": plan.values,
        "init": plan.init,
        "unit": None,
        "socket": plan.socket,
        # How --check asks each Storm daemon whether it answers, without the bundle.
        "probes": probes(
            bundle.storm["facts"].get("ports", {}),
            dict((name, ROLE_OF.get(name)) for name in plan.program_order),
        ),
        # What `stormctl ports` shows, with the inventory's hosts that reach each port.
        "ports": ports.record(plan),
        # Where `stormctl status` and `stormctl smoke` ask Nimbus from any host of the cluster,
        # and how smoke runs the release's launcher and which topology it submits.
        "storm_client": storm_client(plan),
        "python": old.get("python"),
        "releases": sorted(set(old.get("releases", []))),
        "files": dict(old.get("files", {})),
        "programs": dict(old.get("programs", {})),
        # The releases, for the next run to tell an upgrade (upgrade.py; an upgrade records
        # the new ones just before its restarts), and the copies of ZooKeeper's data.
        "components": upgrade.recorded_components(plan, old),
        "zk_data_copies": list(old.get("zk_data_copies", [])),
        # What this installer created (folders relative to the prefix) and the logs it
        # configured: all that --uninstall --purge may remove besides the above.
        "created": [],
        "links": sorted(set(previous.get("links", []))),
        # Logs of programs an earlier run had and this one drops are still this
        # installation's: the record keeps every log it ever configured.
        "logs": sorted(set(previous.get("logs", [])) | set(log_files(parse_conf(plan.conf_text)))),
    }


def storm_client(plan):
    # type: (Plan) -> Dict[str, Any]
    facts = plan.bundle.storm["facts"]
    values = plan.values
    assert values is not None
    launcher = "%s/storm/%s" % (plan.prefix, facts.get("launcher", "bin/storm"))
    return {
        "nimbus_hosts": list(plan.nimbus_hosts),
        "nimbus_port": ports.storm_port(values, facts, "nimbus.thrift.port"),
        "launcher": [values["launcher_python"], launcher],
        "smoke_class": contract.smoke_topology_class(facts),
    }


def probes(storm_ports, roles):
    # type: (Mapping[str, int], Mapping[str, Optional[str]]) -> Dict[str, List[Any]]
    """{program: [kind, port]} for the programs (with their roles) that have a port to ask;
    recorded in state/installed.json at install time, for check.py."""
    found = {}  # type: Dict[str, List[Any]]
    for name, role in roles.items():
        probe = contract.probe_port(role, storm_ports)
        if probe:
            found[name] = list(probe)
    return found


def track(run, rel, data):
    # type: (Run, str, Union[str, bytes]) -> None
    """Record a file the run wrote (relative to the prefix) with its sha256."""
    run.state["files"][rel] = sha256_bytes(to_bytes(data))


def save_state(run):
    # type: (Run) -> None
    """Write the record as it stands (not in a dry run; not when it is what is there)."""
    host = run.host
    if host.dry_run:
        return
    path = host.abs("state/installed.json")
    run.state["created"] = sorted(host.owned)
    data = state_bytes(run.state)
    if os.path.isfile(path) and read_bytes(path) == data:
        return
    host._atomic(path, data, 0o600, *host.owner)
