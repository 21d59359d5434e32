"""Starting, updating and stopping supervisord and its programs for a run (record.py): what
restarts follows from the run's changes and the plan's fingerprints (plan/fingerprint.py)."""

from __future__ import absolute_import, print_function

import time

from ..errors import Unhealthy
from ..host import health
from ..host.system import read_or_none
from ..render.supervisordconf import parse_conf, program_changes
from . import supervisord
from .supervisord import SUPERVISORD_START_TIMEOUT, start_supervisord_direct, unit_name

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, Set  # noqa: F401

    from ..plan.model import Plan  # noqa: F401
    from .record import Run  # noqa: F401


# --- start, or apply changes to what runs ---


def start(plan, run):
    # type: (Plan, Run) -> None
    """Start supervisord, or bring what it runs to the plan: restart it for changes to itself,
    else update its programs and restart those started with something else."""
    host = run.host
    running = health.supervisord_state(plan.socket) is not None
    restart_all = run.site_changed or run.global_changed or run.unit_changed
    restart_all = restart_all or (running and run.old.get("init", plan.init) != plan.init)
    if running and restart_all:
        stop_supervisord(plan, run, "to apply changes to supervisord itself")
        running = False
    if not running:
        start_supervisord(plan, run)
        return
    order = dict((n, i) for i, n in enumerate(plan.program_order))
    proxy = health.supervisor(plan.socket)
    touched = update(plan, run, proxy, order) if run.conf_changed else set()
    old = run.state["programs"]
    stale = [
        n for n in plan.program_order if n not in touched and old.get(n) != plan.fingerprints[n]
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


def update(plan, run, proxy, order):
    # type: (Plan, Run, Any, Dict[str, int]) -> Set[str]
    """`supervisorctl update`: add, change and remove program groups as the new config
    says. Returns the names it started, restarted or removed."""
    host = run.host
    if plan.dry_run:
        added, changed, removed = program_changes(
            parse_conf(read_or_none(plan.conf_path) or b""),
            parse_conf(plan.conf_text),
        )
    else:
        added, changed, removed = proxy.supervisor.reloadConfig()[0]
    dry = plan.dry_run
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


def start_supervisord(plan, run):
    # type: (Plan, Run) -> None
    if plan.init == "systemd":
        name = unit_name(plan.prefix)
        run.host.command("reload systemd's units", ["systemctl", "daemon-reload"])
        run.host.command("enable and start %s" % name, ["systemctl", "enable", "--now", name])
    else:
        run.host.change("start supervisord -c %s" % plan.conf_path)
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


def stop_supervisord(plan, run, why):
    # type: (Plan, Run, str) -> None
    run.host.change("stop supervisord and its programs (%s)" % why)
    if plan.dry_run:
        return
    supervisord.stop_supervisord(
        run.host,
        plan.socket,
        plan.pidfile,
        run.old.get("init"),
        run.old.get("unit"),
    )
