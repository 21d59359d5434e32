"""What this host needs from the others of its cluster: a ZooKeeper quorum, a Nimbus."""

from __future__ import absolute_import, print_function

import socket
import time

from ..contract import cluster, contract
from ..errors import Unhealthy, say, warn
from ..host import health
from ..render import configs
from ..render.roles import ROLE_OF, STORM_DAEMONS

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import (  # noqa: F401
        Any,
        Callable,
        Dict,
        Iterable,
        List,
        Optional,
        Sequence,
        Set,
        Tuple,
        TypeVar,
        Union,
    )

    from .model import Plan  # noqa: F401

    T = TypeVar("T")


# Between progress lines while waiting for peers.
PEER_REPORT_EVERY = 15


# --- what this host needs from the others ---


def peer_label(plan, host, port):
    # type: (Plan, str, int) -> str
    name = cluster.peer_names(plan.bundle.cluster).get(host)
    where = "%s:%d" % (host, port)
    return "%s (%s)" % (name, where) if name and name != host else where


def why_not(exc):
    # type: (BaseException) -> str
    if isinstance(exc, socket.timeout):
        return "no answer"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def quorum_probe(plan):
    # type: (Plan) -> Tuple[bool, str, List[str]]
    """(ok, detail, missing): a majority of the ensemble answers `srvr` with a serving mode."""
    port = int(plan.zk_ports["client"] or 0)
    servers = plan.zk_servers
    need = contract.zk_majority(len(servers))
    serving_modes = contract.zk_serving_modes(len(servers))
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
    # type: (Plan) -> Tuple[bool, str, List[str]]
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
    # type: (Plan, str, Callable[[], Tuple[bool, str, List[str]]], str) -> str
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
    # type: (Plan, Any, List[str]) -> List[str]
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
    # type: (Plan, Any, List[str]) -> None
    """This member's mode, now that the ensemble has a quorum."""
    name = configs.PROGRAM_NAMES["zookeeper"]
    for index, line in enumerate(lines):
        if line.startswith(name + " "):
            mode = safe(lambda: health.zookeeper_mode("127.0.0.1", plan.zk_ports["client"]))
            if mode:
                info = proxy.supervisor.getProcessInfo(name)
                lines[index] = "%-17s RUNNING  pid %-7s srvr Mode: %s" % (name, info["pid"], mode)


def restart_given_up(plan, proxy):
    # type: (Plan, Any) -> None
    """A Storm daemon that gave up (FATAL) while ZooKeeper had no quorum gets another start."""
    for name in plan.program_order:
        if ROLE_OF.get(name) == "zookeeper":
            continue
        info = proxy.supervisor.getProcessInfo(name)
        if info["state"] == health.FATAL:
            say("start %s again: it gave up while its peers were missing" % name)
            proxy.supervisor.startProcess(name, False)


def safe(check):
    # type: (Callable[[], T]) -> Optional[T]
    try:
        return check()
    except (socket.error, OSError, IOError):
        return None
