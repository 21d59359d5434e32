"""After a start: every program RUNNING and answering, ZooKeeper first, then the Storm daemons."""

from __future__ import absolute_import, print_function

import os
import time

from ..contract import contract
from ..errors import Unhealthy
from ..host import health, nimbus
from ..plan import ports
from ..plan.peers import safe, wait_for_peers
from ..render.roles import ROLE_OF

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Callable, Dict, List, Optional, Tuple  # noqa: F401

    from ..plan.model import Plan  # noqa: F401

# --- health ---


def check_health(plan):
    # type: (Plan) -> str
    """Wait until every program is RUNNING and answers, ZooKeeper first, then for what the
    roles need from other hosts, then the Storm daemons. Returns a report for stdout; raises
    Unhealthy with the failing program's log tail, or naming the peer that is missing."""
    timeout = plan.args.timeout
    deadline = time.time() + timeout
    proxy = health.supervisor(plan.socket)
    lines = []  # type: List[str]
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
                # type: (Callable[[], Any], str) -> Any
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
    lines += nimbus_view(plan, deadline)
    lines.append(
        "all %d programs healthy; control them with %s"
        % (len(plan.program_order), os.path.join(plan.prefix, "bin", "stormctl"))
    )
    return "\n".join(lines) + "\n"


def nimbus_view(plan, deadline):
    # type: (Plan, float) -> List[str]
    """Storm's own view once this host's daemons run: Nimbus answers over Thrift, one Nimbus
    leads, and this host's supervisor is among those it lists (registered, not only running).
    A Nimbus that cannot be asked (one that does not speak Thrift) is reported, not waited
    for: its own host's port check judges it."""
    if not [r for r in plan.roles if r in ("nimbus", "supervisor")]:
        return []
    assert plan.values is not None
    port = ports.storm_port(plan.values, plan.bundle.storm["facts"], "nimbus.thrift.port")
    if port is None:
        return []
    said = []  # type: List[str]
    for host in plan.nimbus_hosts:
        try:
            nimbus.cluster(host, port, timeout=5.0)
        except nimbus.NimbusError as error:
            said.append(str(error))
            continue
        return [registered(plan, host, port, deadline)]
    return ["%-17s not asked: %s" % ("storm cluster", "; ".join(said))]


def registered(plan, host, port, deadline):
    # type: (Plan, str, int, float) -> str
    assert plan.values is not None
    options = plan.values.get("storm_options") or {}  # type: Dict[str, Any]
    me = options.get("storm.local.hostname", plan.host) if "supervisor" in plan.roles else None
    last = ["no answer yet"]

    def seen():
        # type: () -> Optional[str]
        try:
            found = nimbus.cluster(host, port, timeout=5.0)
        except nimbus.NimbusError as error:
            last[0] = str(error)
            return None
        leaders = [n["host"] for n in found["nimbuses"] if n["leader"]]
        listed = dict((s["host"], s["slots"]) for s in found["supervisors"])
        last[0] = "leader %s, supervisors %s" % (leaders or "none", sorted(listed) or "none")
        if not leaders or (me is not None and me not in listed):
            return None
        mine = "; this host's supervisor registered, %d slots" % listed[me] if me else ""
        return "%-17s Nimbus %s leads (asked %s:%d)%s" % (
            "storm cluster",
            leaders[0],
            host,
            port,
            mine,
        )

    found = health.wait(seen, max(deadline, time.time() + 30), 1.0)
    if not found:
        raise Unhealthy(
            "Nimbus at %s:%d %s; it said: %s; read %s"
            % (
                host,
                port,
                "has no leader" if me is None else "does not list this host's supervisor (%s)" % me,
                last[0],
                os.path.join(
                    plan.prefix, "logs", "storm", "supervisor.log" if me else "nimbus.log"
                ),
            )
        )
    return str(found)


def wait_running(proxy, name, deadline, timeout):
    # type: (Any, str, float, int) -> Dict[str, Any]
    while True:
        info = proxy.supervisor.getProcessInfo(name)  # type: Dict[str, Any]
        if info["state"] == health.RUNNING:
            return info
        if info["state"] == health.FATAL:
            raise Unhealthy(failure(name, info, "could not be started (FATAL)"))
        if time.time() >= deadline:
            raise Unhealthy(failure(name, info, "was not RUNNING after %ds" % timeout))
        time.sleep(0.5)


def probe_for(role, plan):
    # type: (Optional[str], Plan) -> Optional[Tuple[str, Callable[[], Any]]]
    """(what, check) for a role; check() returns a description once it answers."""
    local = "127.0.0.1"
    storm_ports = plan.bundle.storm["facts"].get("ports", {})
    if role == "zookeeper":
        zk = plan.bundle.zookeeper["facts"]
        port = int(plan.zk_ports["client"] or 0)  # a ZooKeeper host always has one
        # ruok answers only where the release's whitelist (ours, or its default) allows it.
        ruok = zk.get("four_letter_whitelist") or zk.get("four_letter_default") == "*"
        ensemble = len(plan.zk_servers) > 1

        def zk_check():
            # type: () -> Optional[str]
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

        return "ZooKeeper on port %s" % port, zk_check
    probe = contract.probe_port(role, storm_ports)
    if probe is None:
        return None
    kind, port = probe
    if kind == "tcp":
        return "port %d" % port, lambda: health.tcp_open(local, port) and "port %d open" % port

    def http_check():
        # type: () -> Optional[str]
        status = health.http_status(local, port)
        if status is not None and status < 500:
            return "HTTP %d on port %d" % (status, port)
        return None

    return "HTTP on port %d" % port, http_check


def failure(name, info, what):
    # type: (str, Dict[str, Any], str) -> str
    text = "%s %s (state %s%s)" % (
        name,
        what,
        info.get("statename"),
        ": " + info["spawnerr"] if info.get("spawnerr") else "",
    )
    log = info.get("stdout_logfile")
    if log:
        text += "\nlast lines of %s:\n%s" % (log, health.tail(log, 10) or "(empty)")
        # A Storm daemon says why it stopped in its own log (logs/storm/ROLE.log, beside
        # supervisord's logs/NAME.log), not on its stdout.
        role = ROLE_OF.get(name)
        if role and role != "zookeeper":
            own = os.path.join(os.path.dirname(log), "storm", "%s.log" % role)
            said = health.tail(own, 20)
            if said:
                text += "\nlast lines of %s:\n%s" % (own, said)
    return text
