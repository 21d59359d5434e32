"""Rolling safely: after a ZooKeeper member restarts (upgrade, rollback), wait until it serves
again and its ensemble has a leader and a quorum, and say which member leads. An operator who
upgrades the hosts one after another (followers first, the leader last) never loses quorum."""

from __future__ import absolute_import, print_function

import time

from ..contract import contract
from ..contract.cluster import peer_names
from ..errors import Unhealthy, say
from ..host import health

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Dict, List, Optional, Tuple  # noqa: F401

    from ..plan.model import Plan  # noqa: F401

REPORT_EVERY = 15


def ensemble_ready(servers, port, me):
    # type: (List[str], int, str) -> Tuple[bool, str, Optional[str]]
    """(ready, detail, leader): this member serves, a majority serves, and one of them leads."""
    modes = [(host, health.zookeeper_mode_or_none(host, port)) for host in servers]
    judged = contract.zk_quorum(modes)
    leaders = judged["leaders"]
    detail = ", ".join("%s %s" % (h, m or "not serving") for h, m in modes)
    ok = me in judged["serving"] and judged["quorum"] and len(leaders) == 1
    return ok, detail, leaders[0] if leaders else None


def wait_ensemble(servers, port, me, timeout, labels=None):
    # type: (List[str], int, str, int, Optional[Dict[str, str]]) -> str
    """The report line once ready; Unhealthy when timeout seconds pass first."""
    start = time.time()
    reported = start
    while True:
        ok, detail, leader = ensemble_ready(servers, port, me)
        if ok and leader:
            name = (labels or {}).get(leader)
            shown = "%s (%s:%d)" % (name, leader, port) if name and name != leader else (
                "%s:%d" % (leader, port))  # fmt: skip
            return "%-17s %s; members: %s\n" % ("ZooKeeper leader", shown, detail)
        waited = time.time() - start
        if timeout <= 0:  # --peer-timeout 0: report, do not wait
            return "%-17s NOT READY: %s\n" % ("ZooKeeper leader", detail)
        if waited >= timeout:
            raise Unhealthy(
                "ZooKeeper ensemble: no leader with a quorum including this member (%s) after "
                "%ds: %s; do not restart another member until it has one" % (me, timeout, detail)
            )
        if time.time() - reported >= REPORT_EVERY:
            say("waiting for this member and a leader with a quorum: %s (%ds)" % (detail, waited))
            reported = time.time()
        time.sleep(0.5)


def after_start(plan):
    # type: (Plan) -> str
    """For a member of an ensemble: the leader line, once it has one with this member in it."""
    if "zookeeper" not in plan.roles or len(plan.zk_servers) < 2:
        return ""
    labels = {}  # type: Dict[str, str]
    if plan.bundle.cluster is not None:
        labels = peer_names(plan.bundle.cluster)
    port = int(plan.zk_ports["client"] or 0)
    return wait_ensemble(plan.zk_servers, port, plan.host, plan.args.peer_timeout, labels)
