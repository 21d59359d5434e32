"""ZOOKEEPER-2325 / ZOOKEEPER-3056 met on real 3.4 data, without snapshot.trust.empty.

ZooKeeper from 3.5.5 refuses a data folder with transaction logs and no snapshot, and a 3.4
server, standalone or in an ensemble, writes none at start, nor when it rejoins its leader by
DIFF: so every young 3.4 install meets the refusal. `snapshot.trust.empty` is no way out
(ZOOKEEPER-3644: it can lose data). What does make a 3.4 server write a snapshot is its
SyncRequestProcessor after snapCount/2 (plus a random roll below that) logged transactions, and
opening and closing a session are two. 3.4 reads `snapCount` from the system property
zookeeper.snapCount, into which it copies a zoo.cfg key of that name.

So before an upgrade touches anything, the member still on its old release is restarted once
with snapCount=2 added to its zoo.cfg, sessions are opened and closed on it until a snapshot
file appears in its data folder, and its zoo.cfg is put back as it was. The upgrade then goes on
as usual (its data copy holds that snapshot). One restart of one member: its ensemble keeps its
quorum, as in the upgrade's own restart.
"""

from __future__ import absolute_import, print_function

import socket
import time

from ..contract import contract
from ..errors import InstallError, say
from ..host import boundary, health, zkclient
from ..host.system import read_bytes
from . import rolling
from .supervisord import start_hint

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, List  # noqa: F401

    from ..host.host import Host  # noqa: F401
    from ..plan.model import Plan  # noqa: F401

SNAP_COUNT = 2
ZK_PROGRAM = "zookeeper"
ZOO_CFG = "etc/zookeeper/zoo.cfg"
VERSION_2 = "data/zookeeper/version-2"
# Sessions opened and closed at most, and how long to wait for the snapshot file.
MAX_SESSIONS = 20
WAIT = 60


def make_snapshot(host, plan, old_version):
    # type: (Host, Plan, str) -> None
    """Make this member's ZooKeeper, still on old_version, write a snapshot (module doc)."""
    host.change(
        "make ZooKeeper %s write a snapshot before the upgrade (its data has transaction logs "
        "and no snapshot, which 3.5.5+ refuses: ZOOKEEPER-2325): restart it once with "
        "snapCount=%d in zoo.cfg and open and close sessions on it" % (old_version, SNAP_COUNT)
    )
    if host.dry_run:
        return
    if health.supervisord_state(plan.socket) is None:
        raise InstallError(
            "ZooKeeper %s must write a snapshot before this upgrade, but supervisord does not "
            "run here; nothing of the upgrade was done. Fix: start it (%s), then run again"
            % (old_version, start_hint(plan))
        )
    conf = host.abs(ZOO_CFG)
    original = read_bytes(conf)
    proxy = health.supervisor(plan.socket)
    boundary.write(conf, original.rstrip(b"\n") + b"\nsnapCount=%d\n" % SNAP_COUNT, 0o644, 0, 0)
    written = False
    try:
        _restart(proxy)
        _wait_serving(plan)
        written = _pump(host, plan)
    finally:
        boundary.write(conf, original, 0o644, 0, 0)
    if not written:
        _restart(proxy)  # on its own zoo.cfg again
        raise InstallError(
            "ZooKeeper %s wrote no snapshot after %d sessions in %ds, so 3.5.5+ would refuse "
            "its data (ZOOKEEPER-2325); nothing of the upgrade was done. Fix: write a few "
            "znodes through this member (each is a transaction), check that %s holds a "
            "snapshot.* file, then run again"
            % (old_version, MAX_SESSIONS, WAIT, host.abs(VERSION_2))
        )
    say("ZooKeeper %s wrote a snapshot; it goes on with its own zoo.cfg" % old_version)


def _restart(proxy):
    # type: (Any) -> None
    health.stop_program(proxy, ZK_PROGRAM)
    proxy.supervisor.startProcess(ZK_PROGRAM, True)


def _port(plan):
    # type: (Plan) -> int
    return int(plan.zk_ports.get("client") or 2181)


def _wait_serving(plan):
    # type: (Plan) -> None
    """Until this member serves again (and, in an ensemble, its quorum has a leader)."""
    port = _port(plan)
    if len(plan.zk_servers) > 1:
        rolling.wait_ensemble(plan.zk_servers, port, plan.host, plan.args.peer_timeout)
        return
    deadline = time.time() + WAIT
    while time.time() < deadline:
        if health.zookeeper_mode_or_none("127.0.0.1", port) in contract.zk_serving_modes(1):
            return
        time.sleep(0.5)
    raise InstallError("ZooKeeper did not serve within %ds of its restart" % WAIT)


def _pump(host, plan):
    # type: (Host, Plan) -> bool
    """Open and close sessions until a snapshot file is there; whether one came."""
    deadline = time.time() + WAIT
    for _ in range(MAX_SESSIONS):
        try:
            with zkclient.Session("127.0.0.1", _port(plan)):
                pass
        except (socket.error, OSError, IOError, zkclient.ZkError):
            time.sleep(0.5)
        if _has_snapshot(host):
            time.sleep(2)  # written on a thread of its own: let it finish before a stop
            return True
        if time.time() > deadline:
            break
    # The snapshot is written on a thread of its own: give it a moment.
    while time.time() < deadline:
        if _has_snapshot(host):
            time.sleep(2)
            return True
        time.sleep(0.5)
    return False


def _has_snapshot(host):
    # type: (Host) -> bool
    try:
        names = boundary.listdir(host.abs(VERSION_2))  # as the service user
    except (IOError, OSError):
        return False
    return any(n.startswith("snapshot.") for n in names)
