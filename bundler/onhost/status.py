"""`stormctl status`: the installed bundle and its versions, the previous install kept for a
rollback, each program's state (supervisord over its socket) and ZooKeeper's mode. Exit 0 when
every program is RUNNING, 5 otherwise (supervisord silent included), 1 with nothing installed."""

from __future__ import absolute_import, print_function

import json
import os
import socket
import sys

from . import datacopy, health
from .errors import EXIT_ERROR, EXIT_OK, EXIT_UNHEALTHY
from .previous import PREVIOUS, versions_text
from .state import load_state
from .system import read_or_none

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional  # noqa: F401


def previous_record(prefix):
    # type: (str) -> Optional[Dict[str, Any]]
    data = read_or_none(os.path.join(prefix, *(PREVIOUS + "/installed.json").split("/")))
    if data is None:
        return None
    try:
        record = json.loads(data.decode("utf-8"))  # type: Dict[str, Any]
        return record
    except ValueError:
        return None


def zookeeper_line(state):
    # type: (Dict[str, Any]) -> Optional[str]
    values = state.get("values") or {}
    if "zookeeper" not in (state.get("roles") or []):
        return None
    port = int((values.get("zk_ports") or {}).get("client") or 2181)
    try:
        mode = health.zookeeper_mode("127.0.0.1", port, timeout=3.0)
    except (socket.error, OSError, IOError) as exc:
        return "zookeeper mode: no answer on 127.0.0.1:%d (%s)" % (port, exc)
    return "zookeeper mode: %s (srvr on 127.0.0.1:%d)" % (mode or "not serving", port)


def status(prefix, args):
    # type: (str, List[str]) -> int
    if args:
        sys.stderr.write("stormctl status: takes no arguments, found %s\n" % " ".join(args))
        return 2
    state = load_state(prefix)
    if not state or state.get("uninstalled"):
        sys.stderr.write("stormctl status: nothing installed at %s\n" % prefix)
        return EXIT_ERROR
    out = []
    bundle = state.get("bundle") or {}
    out.append("installed: %s (id %s) at %s" % (bundle.get("name"), bundle.get("id"), prefix))
    out.append("versions:  %s" % (versions_text(state) or "(not recorded)"))
    old = previous_record(prefix)
    if old:
        out.append(
            "previous:  %s (%s), kept in %s/%s; `stormctl rollback` returns to it"
            % ((old.get("bundle") or {}).get("name"), versions_text(old), prefix, PREVIOUS)
        )
    else:
        out.append("previous:  none kept (nothing to roll back)")
    for rel in state.get("zk_data_copies") or []:
        copy = os.path.join(prefix, *rel.split("/"))
        manifest = datacopy.manifest_of(copy)
        facts = datacopy.describe(manifest) if manifest else "no manifest: not a usable copy"
        out.append("zookeeper data copy: %s: %s" % (copy, facts))
    code = EXIT_OK
    socket_path = state.get("socket") or os.path.join(prefix, "run", "supervisord.sock")
    try:
        infos = health.supervisor(socket_path, 10.0).supervisor.getAllProcessInfo()
    except Exception as exc:  # any failure to talk to supervisord means: it does not run
        out.append("supervisord: no answer on %s (%s)" % (socket_path, exc))
        infos, code = [], EXIT_UNHEALTHY
    for info in infos:
        out.append("  %-17s %-9s %s" % (info["name"], info["statename"], info["description"]))
        if info["state"] != health.RUNNING:
            code = EXIT_UNHEALTHY
    line = zookeeper_line(state)
    if line:
        out.append(line)
    sys.stdout.write("\n".join(out) + "\n")
    return code
