"""Which ports a host listens on, for which role, and which hosts must reach each, from
contract.py's table of Storm's ports: what the preflight's free-port check, the inventory's
clash check, `bundler ports` and `stormctl ports` all read (the health probes read the table).

A port is computed from the values the renderer writes (configs.render's `values`: roles,
ZooKeeper ports, slots, supervisord's bind, the operator's storm and zk options) and the
releases' facts (recipes/storm.toml `ports`), so it is the port the rendered files open.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, print_function

from ..contract import contract
from ..render import zoocfg

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple  # noqa: F401

    from .model import Plan  # noqa: F401

ANY_HOST = "*"
LOOPBACK = ("localhost", "::1")


def is_loopback(address):
    # type: (str) -> bool
    return address in LOOPBACK or address.startswith("127.")


def _entry(port, role, option, what, bind, reach, outside=None, note=None):
    # type: (int, str, str, str, str, Sequence[str], Optional[str], Optional[str]) -> Dict[str, Any]
    """One listening port; option is what sets it (a storm.yaml key, an inventory key)."""
    loopback = is_loopback(bind)
    return {
        "port": int(port),
        "proto": "tcp",
        "role": role,
        "option": option,
        "what": what,
        "bind": bind,
        "loopback": loopback,
        "from_roles": [] if loopback else list(reach),
        "outside": None if loopback else outside,
        "note": note,
    }


def storm_port(values, storm_facts, key):
    # type: (Mapping[str, Any], Mapping[str, Any], str) -> Optional[int]
    """The port storm.yaml gives key: the operator's option, else the release's default;
    None when the release has no such port or it is switched off (0 or less)."""
    options = values.get("storm_options") or {}
    port = options.get(key, (storm_facts.get("ports") or {}).get(key))  # type: Any
    if contract.is_int(port) and port > 0:
        return int(port)
    return None


def zookeeper_ports(values, zk_facts):
    # type: (Mapping[str, Any], Mapping[str, Any]) -> List[Dict[str, Any]]
    options = values.get("zk_options") or {}
    zk_ports = values["zk_ports"]
    bind = options.get("clientPortAddress") or "0.0.0.0"
    found = [
        _entry(zk_ports["client"], "zookeeper", "zk_client_port", "ZooKeeper client port", bind,
               (ANY_HOST,))
    ]  # fmt: skip
    if len(values["zk_servers"]) > 1:
        found += [
            _entry(zk_ports["peer"], "zookeeper", "zk_peer_port", "ZooKeeper peer port",
                   "0.0.0.0", ("zookeeper",), note="the leader's only"),
            _entry(zk_ports["election"], "zookeeper", "zk_election_port",
                   "ZooKeeper election port", "0.0.0.0", ("zookeeper",)),
        ]  # fmt: skip
    admin = zoocfg.zk_admin_port(dict(zk_facts), list(values["roles"]), dict(zk_ports))
    if admin is not None and str(options.get("admin.enableServer", "true")).lower() != "false":
        bind = options.get("admin.serverAddress") or "0.0.0.0"
        found.append(_entry(admin, "zookeeper", "zk_admin_port", "ZooKeeper AdminServer",
                            bind, (), "operators"))  # fmt: skip
    return found


def listening(values, storm_facts, zk_facts):
    # type: (Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]) -> List[Dict[str, Any]]
    """Every port a host with these values listens on, in start order of its roles."""
    roles = values["roles"]
    found = zookeeper_ports(values, zk_facts) if "zookeeper" in roles else []
    for role, key, what, reach, outside, _ in contract.STORM_PORTS:
        port = storm_port(values, storm_facts, key) if role in roles else None
        if port is not None:
            found.append(_entry(port, role, key, what, "0.0.0.0", reach, outside))
    if "supervisor" in roles:
        for slot in values["slots"]:
            found.append(_entry(slot, "worker", "slots", "worker slot", "0.0.0.0",
                                ("supervisor",), note="while a topology runs in it"))  # fmt: skip
    bind = values.get("http_bind") or "0.0.0.0"
    found.append(_entry(values["http_port"], "supervisord", "--supervisord-ui-bind",
                        "supervisord's web interface", "0.0.0.0" if bind == "*" else bind, (),
                        "operators", "stormctl uses its unix socket"))  # fmt: skip
    return found


def reached_by(entry, hosts, self_name):
    # type: (Mapping[str, Any], Sequence[Mapping[str, Any]], Optional[str]) -> List[List[str]]
    """[name, address] of the inventory hosts (not this one) that must reach the port."""
    wanted = entry["from_roles"]
    return [
        [str(h["name"]), str(h["address"])]
        for h in hosts
        if h["name"] != self_name and (ANY_HOST in wanted or any(r in wanted for r in h["roles"]))
    ]


def host_table(values, storm_facts, zk_facts, hosts, self_name):
    # type: (Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], Sequence[Mapping[str, Any]], Optional[str]) -> List[Dict[str, Any]]
    """listening() with each port's "from": the inventory hosts that reach it."""
    table = listening(values, storm_facts, zk_facts)
    for entry in table:
        entry["from"] = reached_by(entry, hosts, self_name)
    return table


def record(plan):
    # type: (Plan) -> Dict[str, Any]
    """This host's table as state/installed.json keeps it for `stormctl ports`."""
    hosts = (plan.bundle.cluster or {}).get("hosts") or []
    name = plan.entry["name"] if plan.entry is not None else None
    assert plan.values is not None
    table = host_table(plan.values, plan.storm_facts(), plan.zk_facts(), hosts, name)
    return {"name": name or plan.host, "address": plan.host, "roles": plan.roles, "ports": table}
