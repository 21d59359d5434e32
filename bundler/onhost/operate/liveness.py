"""How every program of an installation is doing now, as data: its supervisord state, whether it
answers on its port (the probes recorded at install time), ZooKeeper's `srvr` mode, and the
ensemble's quorum. `stormctl status` and `stormctl check` (check.py) both read it, so they judge
health by one rule and need no bundle, only PREFIX/state/installed.json.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import os

from ..contract import contract
from ..host import health, nimbus
from ..render.roles import ROLE_OF
from . import logfiles

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

ZK_PROGRAM = "zookeeper"


def socket_of(prefix, state):
    # type: (str, Dict[str, Any]) -> str
    return state.get("socket") or os.path.join(prefix, "run", "supervisord.sock")


def zk_port(state):
    # type: (Dict[str, Any]) -> int
    ports = (state.get("values") or {}).get("zk_ports") or {}
    return int(ports.get("client") or 2181)


def answers(probe):
    # type: (List[Any]) -> Tuple[bool, str]
    """(answered, what was seen) for a recorded probe [kind, port] on 127.0.0.1."""
    kind, port = probe[0], int(probe[1])
    if kind == "http":
        status = health.http_status("127.0.0.1", port)
        if status is not None and status < 500:
            return True, "HTTP %d on port %d" % (status, port)
        return False, "no HTTP answer on port %d" % port
    if health.tcp_open("127.0.0.1", port):
        return True, "port %d open" % port
    return False, "port %d not answering" % port


def program(prefix, state, name, info):
    # type: (str, Dict[str, Any], str, Optional[Dict[str, Any]]) -> Dict[str, Any]
    """One program's entry: name, state, pid, answer (what its port said), zookeeper_mode,
    logs, and problems (empty when it runs and answers)."""
    role = ROLE_OF.get(name)
    entry = {
        "name": name,
        "role": role,
        "state": "NOT LOADED" if info is None else info["statename"],
        "pid": None,
        "answer": None,
        "problems": [],
        "logs": logfiles.of_program(prefix, name, info),
    }  # type: Dict[str, Any]
    problems = entry["problems"]  # type: List[str]
    if info is None:
        problems.append("%s not loaded" % name)
        return entry
    if info["state"] != health.RUNNING:
        problems.append("%s %s" % (name, info["statename"]))
        return entry
    entry["pid"] = info["pid"]
    probe = (state.get("probes") or {}).get(name)
    if probe:
        ok, said = answers(probe)
        entry["answer"] = said
        if not ok:
            problems.append("%s: %s" % (name, said))
    if name == ZK_PROGRAM:
        port = zk_port(state)
        mode = health.zookeeper_mode_or_none("127.0.0.1", port)  # type: Optional[str]
        entry["zookeeper_mode"] = mode
        if mode not in contract.zk_serving_modes(len(zk_servers(state))):
            problems.append("ZooKeeper not serving on port %d" % port)
    return entry


def programs(prefix, state, names):
    # type: (str, Dict[str, Any], List[str]) -> Tuple[Optional[str], List[Dict[str, Any]]]
    """(supervisord's state, or None when it does not answer; an entry per program named)."""
    socket_path = socket_of(prefix, state)
    supervisord = health.supervisord_state(socket_path)
    if supervisord is None:
        return None, []
    infos = health.process_infos(health.supervisor(socket_path))
    return supervisord, [program(prefix, state, name, infos.get(name)) for name in names]


def zk_servers(state):
    # type: (Dict[str, Any]) -> List[str]
    return list((state.get("values") or {}).get("zk_servers") or [])


def ensemble(state):
    # type: (Dict[str, Any]) -> Optional[Dict[str, Any]]
    """The ensemble this host's programs use: each member's mode and whether it serves, the
    quorum and its leader; None when the host runs nothing that uses ZooKeeper."""
    servers = zk_servers(state)
    if not servers or not (state.get("values") or {}).get("roles"):
        return None
    port = zk_port(state)
    modes = [(host, health.zookeeper_mode_or_none(host, port)) for host in servers]
    judged = contract.zk_quorum(modes)
    problems = []  # type: List[str]
    if not judged["quorum"]:
        problems.append("no ZooKeeper quorum")
    elif not judged["leaders"]:
        problems.append("no ZooKeeper leader answers")
    members = [{"host": h, "mode": m, "serving": h in judged["serving"]} for h, m in modes]
    return {
        "port": port,
        "members": members,
        "serving": len(judged["serving"]),
        "needed": judged["needed"],
        "quorum": judged["quorum"],
        "leaders": judged["leaders"],
        "problems": problems,
    }


STORM_DAEMON_ROLES = ("nimbus", "supervisor", "ui", "logviewer", "drpc")


def storm_cluster(state, supervisor_up=True):
    # type: (Dict[str, Any], bool) -> Optional[Dict[str, Any]]
    """What Nimbus says of the cluster (host/nimbus.py): the leader, each supervisor with its
    slots, the topologies; None when this host runs no Storm daemon. Problems: Nimbus answers
    but no Nimbus leads, or this host's supervisor runs (supervisor_up) but is not among those
    it lists (a stopped one is its program's problem already). A Nimbus that
    cannot be asked (down, starting, or not speaking Thrift) is reported as such and judged
    by its own host's port check, not here."""
    roles = (state.get("values") or {}).get("roles") or []
    client = state.get("storm_client")
    if not client or not [r for r in roles if r in STORM_DAEMON_ROLES]:
        return None
    port = int(client.get("nimbus_port") or 6627)
    errors = []
    for host in client.get("nimbus_hosts") or []:
        try:
            found = nimbus.cluster(host, port, timeout=5.0)
        except nimbus.NimbusError as error:
            errors.append(str(error))
            continue
        return judged_cluster(state, host, port, found, supervisor_up)
    return {"asked": None, "unanswered": errors, "problems": []}


def judged_cluster(state, host, port, found, supervisor_up):
    # type: (Dict[str, Any], str, int, Dict[str, Any], bool) -> Dict[str, Any]
    values = state.get("values") or {}
    leaders = [n["host"] for n in found["nimbuses"] if n["leader"]]
    supervisors = found["supervisors"]
    problems = []  # type: List[str]
    if not leaders:
        problems.append("no Nimbus leads the cluster (asked %s:%d)" % (host, port))
    me = values.get("host")
    mine = "supervisor" in (values.get("roles") or []) and supervisor_up
    if mine and me not in [s["host"] for s in supervisors]:
        problems.append("Nimbus does not list this host's supervisor (%s)" % me)
    return {
        "asked": "%s:%d" % (host, port),
        "leader": leaders[0] if leaders else None,
        "supervisors": supervisors,
        "slots": sum(s["slots"] for s in supervisors),
        "free_slots": sum(s["slots"] - s["used"] for s in supervisors),
        "topologies": [t["name"] for t in found["topologies"]],
        "problems": problems,
    }
