"""What supervisord's programs were started with (fingerprints), and starting, updating and
stopping supervisord and its programs for Installer."""

from __future__ import absolute_import, print_function

import json
import time

from ..errors import Unhealthy
from ..host import health
from ..host.system import read_or_none, sha256_bytes
from ..render import normalize
from ..render.roles import ROLE_OF
from . import supervisord
from .supervisord import (
    SUPERVISORD_START_TIMEOUT,
    parse_conf,
    program_changes,
    start_supervisord_direct,
    unit_name,
)

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Callable, Dict, Optional, Sequence, Set, Tuple  # noqa: F401

    from .apply import Installer  # noqa: F401


ZK_DIR_FILES = ("etc/zookeeper/", "data/zookeeper/")
STORM_DIR_FILES = ("etc/storm/",)

# --- what a program was started with ---


def program_component(name):
    # type: (str) -> str
    return "zookeeper" if ROLE_OF.get(name) == "zookeeper" else "storm"


def fingerprint(section, project, component, rendered, jdk, digest=None):
    # type: (Dict[str, str], str, Dict[str, Any], Sequence[Tuple[str, bytes, int]], Optional[str], Optional[Callable[[str, bytes], str]]) -> str
    """What a running program was started with, in meaning (normalize.py): its supervisord
    section, its release, the JDK and what its config files say. A change means a restart;
    a comment or the order of keys is no change. `SCHEME:hex`, so that a record made by
    another scheme is recognised (legacy_fingerprint)."""
    deps = ZK_DIR_FILES if project == "zookeeper" else STORM_DIR_FILES
    digest = digest or normalize.digest
    files = dict((rel, digest(rel, data)) for rel, data, _ in rendered if rel.startswith(deps))
    blob = {"section": section, "release": component["top"], "files": files, "jdk": jdk}
    hexed = sha256_bytes(json.dumps(blob, sort_keys=True).encode("utf-8"))
    return hexed if digest is _byte_digest else "%s:%s" % (normalize.SCHEME, hexed)


def _byte_digest(rel, data):
    # type: (str, bytes) -> str
    return sha256_bytes(data)


def legacy_fingerprint(section, project, component, rendered, jdk):
    # type: (Dict[str, str], str, Dict[str, Any], Sequence[Tuple[str, bytes, int]], Optional[str]) -> str
    """The fingerprint records made before fingerprints were by meaning: over the bytes."""
    return fingerprint(section, project, component, rendered, jdk, _byte_digest)


def started_with(recorded, legacy, meant):
    # type: (Optional[str], str, str) -> Optional[str]
    """A program's record in today's scheme. A record of the byte scheme (no `SCHEME:`) is
    translated when it still matches the files on disk byte for byte (legacy: the byte
    fingerprint of those files): the program runs with what they say (meant: their
    fingerprint by meaning). Otherwise it stays as it is and differs from any new one, so the
    program restarts: the safe side."""
    if recorded is None or ":" in recorded:
        return recorded
    return meant if recorded == legacy else recorded


# --- start, or apply changes to what runs ---


def start(inst):
    # type: (Installer) -> None
    plan = inst.plan
    host = inst.host
    running = health.supervisord_state(plan.socket) is not None
    restart_all = inst.site_changed or inst.global_changed or inst.unit_changed
    restart_all = restart_all or (running and inst.old.get("init", plan.init) != plan.init)
    if running and restart_all:
        inst.stop_supervisord("to apply changes to supervisord itself")
        running = False
    if not running:
        inst.start_supervisord()
        return
    order = dict((n, i) for i, n in enumerate(plan.program_order))
    proxy = health.supervisor(plan.socket)
    touched = inst.update(proxy, order) if inst.conf_changed else set()
    old = inst.state["programs"]
    stale = [
        n for n in plan.program_order if n not in touched and old.get(n) != inst.fingerprints[n]
    ]
    for name in sorted(stale, key=lambda n: order[n]):
        host.change("restart %s (its config or release changed)" % name)
        if plan.dry_run:
            continue
        health.stop_program(proxy, name)
        proxy.supervisor.startProcess(name, False)
    if plan.dry_run:
        return
    for name in plan.program_order:
        info = proxy.supervisor.getProcessInfo(name)
        if info["state"] in (health.STOPPED, health.EXITED, health.FATAL):
            host.change("start %s (it was %s)" % (name, info["statename"]))
            proxy.supervisor.startProcess(name, False)


def update(inst, proxy, order):
    # type: (Installer, Any, Dict[str, int]) -> Set[str]
    """`supervisorctl update`: add, change and remove program groups as the new config
    says. Returns the names it started, restarted or removed."""
    host = inst.host
    if inst.plan.dry_run:
        added, changed, removed = program_changes(
            parse_conf(read_or_none(inst.plan.conf_path) or b""),
            parse_conf(inst.plan.conf_text),
        )
    else:
        added, changed, removed = proxy.supervisor.reloadConfig()[0]
    dry = inst.plan.dry_run
    for name in removed:
        host.change("stop and remove program %s" % name)
        if not dry:
            proxy.supervisor.stopProcessGroup(name, True)
            proxy.supervisor.removeProcessGroup(name)
    for name in sorted(changed, key=lambda n: order.get(n, 999)):
        host.change("restart program %s with its new settings" % name)
        if not dry:
            proxy.supervisor.stopProcessGroup(name, True)
            proxy.supervisor.removeProcessGroup(name)
            proxy.supervisor.addProcessGroup(name)
    for name in sorted(added, key=lambda n: order.get(n, 999)):
        host.change("add and start program %s" % name)
        if not dry:
            proxy.supervisor.addProcessGroup(name)
    return set(added) | set(changed) | set(removed)


def start_supervisord(inst):
    # type: (Installer) -> None
    plan = inst.plan
    if plan.init == "systemd":
        name = unit_name(inst.prefix)
        inst.host.command("reload systemd's units", ["systemctl", "daemon-reload"])
        inst.host.command("enable and start %s" % name, ["systemctl", "enable", "--now", name])
    else:
        inst.host.change("start supervisord -c %s" % plan.conf_path)
        if plan.dry_run:
            return
        start_supervisord_direct(plan)
    if plan.dry_run:
        return
    deadline = time.time() + SUPERVISORD_START_TIMEOUT
    answered = health.wait(lambda: health.supervisord_state(plan.socket) == "RUNNING", deadline)
    if not answered:
        raise Unhealthy(
            "supervisord did not answer on %s within %ds; last lines of %s:\n%s"
            % (plan.socket, SUPERVISORD_START_TIMEOUT, plan.logfile, health.tail(plan.logfile))
        )


def stop_supervisord(inst, why):
    # type: (Installer, str) -> None
    inst.host.change("stop supervisord and its programs (%s)" % why)
    if inst.plan.dry_run:
        return
    supervisord.stop_supervisord(
        inst.host,
        inst.plan.socket,
        inst.plan.pidfile,
        inst.old.get("init"),
        inst.old.get("unit"),
    )
