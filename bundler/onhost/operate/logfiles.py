"""Where each program's logs are: the stdout/stderr log supervisord writes for it (root's, in
PREFIX/logs, rotated by supervisord), and the log the daemon writes itself (the service user's,
in PREFIX/logs/storm or PREFIX/logs/zookeeper, rotated by the release's own logging config).
docs/reference/file-layout.md ("Logs") says how each rotates and how large they may grow.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import os

from ..render.roles import ROLE_OF

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional  # noqa: F401

# Storm's launcher names a daemon's log `-Dlogfile.name=<daemon>.log` in storm.log.dir, which
# the installer points at PREFIX/logs/storm (STORM_HOME/logs links there).
STORM_LOG_DIR = "logs/storm"
# Worker JVMs log per topology and slot: workers-artifacts/<topology>/<port>/worker.log (1.0 and
# later), worker-<port>.log (0.9, 0.10).
WORKER_LOGS = "workers-artifacts/<topology>/<port>/worker.log or worker-<port>.log"
# ZooKeeper started in the foreground logs to its console (supervisord's log) unless its
# logging config is changed to write files, which then go to ZOO_LOG_DIR.
ZK_LOG_DIR = "logs/zookeeper"


def supervisord_log(prefix, name, info):
    # type: (str, str, Optional[Dict[str, Any]]) -> str
    """The file supervisord writes the program's stdout and stderr to (redirect_stderr)."""
    found = (info or {}).get("stdout_logfile")
    return found or os.path.join(prefix, "logs", "%s.log" % name)


def of_program(prefix, name, info=None):
    # type: (str, str, Optional[Dict[str, Any]]) -> List[Dict[str, str]]
    """[{"what", "path"}] for a program, supervisord's log first."""
    own = supervisord_log(prefix, name, info)
    found = [{"what": "stdout and stderr, by supervisord", "path": own}]
    role = ROLE_OF.get(name)
    if role == "zookeeper":
        folder = os.path.join(prefix, *ZK_LOG_DIR.split("/"))
        what = "ZooKeeper's own files, when its log config writes any"
        found.append({"what": what, "path": folder})
    elif role is not None:
        folder = os.path.join(prefix, *STORM_LOG_DIR.split("/"))
        found.append({"what": "Storm's own", "path": os.path.join(folder, "%s.log" % role)})
        if role == "supervisor":
            found.append({"what": "its workers'", "path": os.path.join(folder, WORKER_LOGS)})
    return found
