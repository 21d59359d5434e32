"""supervisord control: starting and stopping it (its config is read by
render/supervisordconf.py, its pid checked by host/processes.py)."""

from __future__ import absolute_import, print_function

import hashlib
import os
import signal
import subprocess
import time

from ..errors import Unhealthy, warn
from ..host import boundary, health
from ..host.processes import pid_alive, started_at, supervisord_pid
from ..host.system import clean_env, read_or_none, run

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

    from ..host.host import Host  # noqa: F401
    from ..plan.model import Plan  # noqa: F401


SUPERVISORD_START_TIMEOUT = 30
# Generous: supervisord stops each program within its stopwaitsecs.
SUPERVISORD_STOP_TIMEOUT = 180
SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def unit_name(prefix):
    # type: (str) -> str
    if prefix == "/opt/storm":
        return "storm-supervisord.service"
    # One unit per prefix, so that two installations never share a name.
    return "storm-supervisord-%s.service" % hashlib.sha1(prefix.encode("utf-8")).hexdigest()[:8]


def start_hint(plan):
    # type: (Plan) -> str
    if plan.init == "systemd":
        return "systemctl start %s" % unit_name(plan.prefix)
    return "PYTHONPATH=%s %s -S %s/bin/supervisord -c %s" % (
        plan.site_dir,
        plan.python,
        plan.site_dir,
        plan.conf_path,
    )


def start_supervisord_direct(plan):
    # type: (Plan) -> None
    env = clean_env()
    env["PYTHONPATH"] = plan.site_dir
    # The programs inherit it: their launchers need the base tools (dirname, grep...) even
    # when the operator's PATH is a short one. JAVA_HOME, not PATH, picks their Java.
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    env["PATH"] = os.pathsep.join(path + [p for p in SYSTEM_PATH if p not in path])
    errors = os.path.join(plan.prefix, "run", "supervisord.start-errors")
    if boundary.lstat(errors) is not None:
        boundary.remove(errors)
    # A new file, never one that was there: run/ is root's, and O_EXCL follows no link.
    fd = os.open(errors, os.O_WRONLY | os.O_CREAT | os.O_EXCL | boundary.NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as err, open(os.devnull, "rb") as devnull:
        # supervisord daemonizes: the parent exits once the child is on its own. A file, not
        # a pipe, for its early errors: the daemon may hold on to the descriptor.
        code = subprocess.call(
            [plan.python, "-S", os.path.join(plan.site_dir, "bin", "supervisord")]
            + ["-c", plan.conf_path],
            stdin=devnull,
            stdout=err,
            stderr=subprocess.STDOUT,
            cwd=plan.prefix,
            env=env,
            close_fds=True,
        )
    message = (read_or_none(errors) or b"").decode("utf-8", "replace").strip()
    os.unlink(errors)
    if code != 0:
        raise Unhealthy(
            "supervisord did not start (exit %d): %s\nlast lines of %s:\n%s"
            % (code, message, plan.logfile, health.tail(plan.logfile))
        )


def stop_supervisord(host, socket_path, pidfile, init, unit):
    # type: (Host, str, str, Optional[str], Optional[str]) -> None
    """Stop supervisord; wait until it and every program it ran are gone. Signals go only to
    processes proven ours: supervisord by its command line, its programs by the pid and start
    time supervisord itself reported."""
    found = []  # type: List[Tuple[int, Optional[str]]]
    proxy = health.supervisor(socket_path)
    try:  # noqa: SIM105 (no contextlib.suppress on Python 2)
        found = [
            (i["pid"], started_at(i["pid"]))
            for i in proxy.supervisor.getAllProcessInfo()
            if i.get("pid")
        ]
    except Exception:  # not answering: the pid file is all there is
        pass
    main_pid = supervisord_pid(pidfile, host.abs("etc/supervisord.conf"))
    if main_pid:
        found.append((main_pid, started_at(main_pid)))
    if init == "systemd" and unit:
        run(["systemctl", "stop", os.path.basename(unit)], timeout=SUPERVISORD_STOP_TIMEOUT + 30)
    else:
        try:
            proxy.supervisor.shutdown()
        except Exception:
            if main_pid and pid_alive(main_pid):
                host.signal(main_pid, signal.SIGTERM)
    everyone = [(p, t) for p, t in found if t is not None]

    def same(pid, start):
        # type: (int, Optional[str]) -> bool
        return pid_alive(pid) and started_at(pid) == start

    deadline = time.time() + SUPERVISORD_STOP_TIMEOUT
    health.wait(lambda: not any(same(p, t) for p, t in everyone), deadline)
    for pid, start in everyone:
        if same(pid, start):
            warn(
                "pid %d still runs %ds after the stop; killing it" % (pid, SUPERVISORD_STOP_TIMEOUT)
            )
            host.signal(pid, signal.SIGKILL)
