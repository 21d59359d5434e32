"""`stormctl smoke [--jar JAR] [--class NAME] [--timeout SECS]`: the service check. Submit
storm-starter's ExclamationTopology of this Storm release, wait until Nimbus schedules it, its
workers start on the cluster's supervisors and their bolts ack tuples, kill it, and report
each stage in one line. Exit 0 when every stage passed; 5 naming the stage that failed and
the log to read; 2 for a usage error. The topology is killed whatever happened, so nothing is
left behind.

Everything is asked of Nimbus itself (host/nimbus.py), so it runs on any host of the cluster
that has the release and its storm.yaml. As root it submits as the service user, from a copy
of the jar that user can read. Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

from ..errors import EXIT_ERROR, EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE
from ..host import nimbus
from ..host.state import load_state

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Callable, Dict, List, Optional, Tuple  # noqa: F401

USAGE = "usage: stormctl smoke [--jar JAR] [--class NAME] [--timeout SECS]"
# Workers report their executors' counts every executor.metrics.frequency.secs (60 by
# default in 2.x): the smoke topology asks for it more often, so acks show in seconds.
SUBMIT_OPTIONS = ("executor.metrics.frequency.secs=5", "topology.stats.sample.rate=1.0")
POLL = 2.0


class Failed(Exception):
    """A stage failed: its message says what was seen and which log to read."""


def parse(args):
    # type: (List[str]) -> Dict[str, Any]
    options = {"jar": None, "class": None, "timeout": 300.0}  # type: Dict[str, Any]
    rest = list(args)
    while rest:
        flag = rest.pop(0)
        if flag in ("--jar", "--class", "--timeout") and rest:
            options[flag[2:]] = rest.pop(0)
        else:
            raise ValueError("unexpected %s" % flag)
    try:
        options["timeout"] = float(options["timeout"])
    except ValueError:
        raise ValueError("--timeout expects seconds, found %s" % options["timeout"])  # noqa: B904 (Python 2 has no raise-from)
    if options["timeout"] <= 0:
        raise ValueError("--timeout expects seconds above 0, found %g" % options["timeout"])
    return options


def example_jar(prefix):
    # type: (str) -> Optional[str]
    """The example topology the bundle placed (PREFIX/lib/smoke/), else the release's own
    compiled storm-starter (examples/storm-starter/storm-starter-topologies-*.jar)."""
    patterns = [
        os.path.join(prefix, "lib", "smoke", "*.jar"),
        os.path.join(
            prefix, "storm", "examples", "storm-starter", "storm-starter-topologies-*.jar"
        ),
    ]
    for pattern in patterns:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


class Smoke(object):
    def __init__(self, prefix, state, options):
        # type: (str, Dict[str, Any], Dict[str, Any]) -> None
        self.prefix = prefix
        self.state = state
        self.client = state.get("storm_client") or {}
        self.deadline = time.time() + options["timeout"]
        self.jar = options["jar"]
        self.klass = options["class"] or self.client.get("smoke_class")
        self.name = "bundler-smoke-%d-%d" % (int(time.time()), os.getpid())
        self.topology_id = None  # type: Optional[str]
        self.nimbus = None  # type: Optional[Tuple[str, int]]

    def say(self, stage, started, what):
        # type: (str, float, str) -> None
        print("smoke: %-12s ok   %s (%.1f s)" % (stage, what, time.time() - started))
        sys.stdout.flush()

    def wait(self, stage, check, failure):
        # type: (str, Callable[[], Any], Callable[[], str]) -> Any
        """check()'s first true answer before the deadline; else Failed(failure())."""
        while True:
            try:
                found = check()
            except nimbus.NimbusError as error:
                found, last = None, str(error)
            else:
                last = ""
            if found:
                return found
            if time.time() >= self.deadline:
                raise Failed("%s: %s%s" % (stage, failure(), "; last: " + last if last else ""))
            time.sleep(POLL)

    # --- the stages ---

    def find_leader(self):
        # type: () -> Dict[str, Any]
        hosts = self.client.get("nimbus_hosts") or ["127.0.0.1"]
        port = int(self.client.get("nimbus_port") or 6627)
        errors = []
        for host in hosts:
            try:
                found = nimbus.cluster(host, port)
            except nimbus.NimbusError as error:
                errors.append(str(error))
                continue
            self.nimbus = (host, port)
            return found
        raise Failed(
            "nimbus: no Nimbus answers (%s); read %s" % ("; ".join(errors), self.log("nimbus.log"))
        )

    def submit(self, jar):
        # type: (str) -> None
        launcher = list(self.client.get("launcher") or [])
        if not launcher:
            raise Failed("submit: this installation records no Storm launcher; reinstall")
        opts = []  # type: List[str]
        for option in SUBMIT_OPTIONS:
            opts += ["-c", option]
        command = launcher + ["jar", jar, self.klass, self.name] + opts
        code, output = run_as_service_user(self.state, command, self.env(), self.deadline)
        if code != 0:
            tail = "\n".join(output.splitlines()[-15:])
            raise Failed("submit: `storm jar` exited %d; it said:\n%s" % (code, tail))

    def env(self):
        # type: () -> Dict[str, str]
        values = self.state.get("values") or {}
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "STORM_CONF_DIR": os.path.join(self.prefix, "etc", "storm"),
            "HOME": os.path.join(self.prefix, "data", "storm"),
            "PYTHONPATH": os.path.join(self.prefix, "storm", "bin"),
        }
        if values.get("java_home"):
            env["JAVA_HOME"] = values["java_home"]
        return env

    def topology(self):
        # type: () -> Dict[str, Any]
        assert self.nimbus is not None
        if self.topology_id is None:
            found = nimbus.cluster(*self.nimbus)["topologies"]
            ids = [t["id"] for t in found if t["name"] == self.name]
            if not ids:
                return {}
            self.topology_id = ids[0]
        return nimbus.topology(self.nimbus[0], self.nimbus[1], self.topology_id)

    def log(self, name):
        # type: (str) -> str
        return os.path.join(self.prefix, "logs", "storm", name)

    def worker_logs(self):
        # type: () -> str
        return self.log("workers-artifacts/%s/PORT/worker.log" % (self.topology_id or self.name))

    def run(self, jar):
        # type: (str) -> None
        started = time.time()
        cluster = self.find_leader()
        leaders = [n["host"] for n in cluster["nimbuses"] if n["leader"]] or [self.nimbus[0]]  # type: ignore[index]
        slots = sum(s["slots"] - s["used"] for s in cluster["supervisors"])
        self.say(
            "nimbus",
            started,
            "leader %s, %d supervisors, %d free slots"
            % (leaders[0], len(cluster["supervisors"]), slots),
        )
        if not cluster["supervisors"]:
            raise Failed(
                "schedule: no supervisor registered with Nimbus; read %s"
                % self.log("supervisor.log")
            )
        started = time.time()
        self.submit(jar)
        self.say("submit", started, "%s from %s" % (self.name, os.path.basename(jar)))
        started = time.time()
        info = self.wait(
            "schedule",
            lambda: (lambda t: t if t.get("executors") else None)(self.topology()),
            lambda: (
                "Nimbus assigned no executors of %s; read %s" % (self.name, self.log("nimbus.log"))
            ),
        )
        hosts = sorted(set("%s:%s" % (e["host"], e["port"]) for e in info["executors"]))
        self.say(
            "schedule", started, "%d executors on %s" % (len(info["executors"]), ", ".join(hosts))
        )
        started = time.time()
        self.wait(
            "worker start",
            lambda: all(e["uptime"] for e in self.topology()["executors"]),
            lambda: (
                "not every worker of %s reports its executors; read %s"
                % (self.name, self.worker_logs())
            ),
        )
        self.say("worker start", started, "every executor reports")
        started = time.time()
        acked = self.wait("acks", self.acks, lambda: self.acks_missing())
        self.say(
            "acks",
            started,
            "%d tuples acked by bolts on %s" % (sum(acked.values()), ", ".join(sorted(acked))),
        )

    def bolts(self):
        # type: () -> Tuple[Dict[str, int], List[str]]
        """(acked per host, hosts with a bolt of the topology), system bolts left out."""
        acked = {}  # type: Dict[str, int]
        hosts = set()
        for e in self.topology().get("executors", []):
            if not e["bolt"] or e["component"].startswith("__"):
                continue
            hosts.add(e["host"])
            if e["acked"]:
                acked[e["host"]] = acked.get(e["host"], 0) + e["acked"]
        return acked, sorted(hosts)

    def acks(self):
        # type: () -> Optional[Dict[str, int]]
        """Acked tuples per host once the topology's bolts have acked any: every worker was
        seen to start in the stage before, and tuples pass between them."""
        acked, hosts = self.bolts()
        return acked if hosts and acked else None

    def acks_missing(self):
        # type: () -> str
        try:
            acked, hosts = self.bolts()
        except nimbus.NimbusError:
            acked, hosts = {}, []
        quiet = [h for h in hosts if h not in acked] or hosts or ["any host"]
        return "no tuple acked on %s; read %s there" % (", ".join(quiet), self.worker_logs())

    def kill(self):
        # type: () -> None
        """Kill the topology (if it was submitted) and wait until Nimbus no longer lists it."""
        if self.nimbus is None:
            return
        started = time.time()
        self.deadline = max(self.deadline, time.time() + 60)
        host, port = self.nimbus

        def gone():
            # type: () -> bool
            return self.name not in [t["name"] for t in nimbus.cluster(host, port)["topologies"]]

        try:
            if gone():
                return
            nimbus.kill(host, port, self.name, wait_secs=0)
            self.wait(
                "kill",
                gone,
                lambda: (
                    "Nimbus still lists %s; kill it with `storm kill %s`" % (self.name, self.name)
                ),
            )
        except nimbus.NimbusError as error:
            raise Failed("kill: %s; kill it with `storm kill %s`" % (error, self.name))  # noqa: B904 (Python 2 has no raise-from)
        self.say("kill", started, "%s removed" % self.name)


def run_as_service_user(state, command, env, deadline):
    # type: (Dict[str, Any], List[str], Dict[str, str], float) -> Tuple[int, str]
    """command's exit code and output, run as the installation's service user when this is
    root (the submitter runs the operator's topology code), else as this user."""
    user = state.get("user")
    preexec = None
    if os.getuid() == 0 and user:
        import pwd

        entry = pwd.getpwnam(user)

        def preexec():
            # type: () -> None
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)

    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd="/",
        preexec_fn=preexec,
        close_fds=True,
    )
    # The submitter is quick or hung: past the deadline it is stopped (it is our child).
    output, _ = communicate(proc, deadline)
    return proc.returncode, output.decode("utf-8", "replace")


def communicate(proc, deadline):
    # type: (subprocess.Popen[bytes], float) -> Tuple[bytes, Any]
    try:
        return proc.communicate(timeout=max(1.0, deadline - time.time()))  # type: ignore[call-arg,unused-ignore]
    except TypeError:  # Python 2: no timeout; the submitter ends on its own
        return proc.communicate()
    except subprocess.TimeoutExpired:  # type: ignore[attr-defined,unused-ignore]
        proc.kill()
        output, err = proc.communicate()
        return output + b"\n(stopped: past the deadline)", err


def readable_copy(jar, state):
    # type: (str, Dict[str, Any]) -> Tuple[str, str]
    """(a copy of jar the service user can read, the folder to remove afterwards)."""
    folder = tempfile.mkdtemp(prefix="bundler-smoke-")
    os.chmod(folder, 0o755)
    copy = os.path.join(folder, os.path.basename(jar))
    shutil.copyfile(jar, copy)
    os.chmod(copy, 0o644)
    return copy, folder


def smoke(prefix, args):
    # type: (str, List[str]) -> int
    try:
        options = parse(args)
    except ValueError as error:
        sys.stderr.write("stormctl smoke: %s; %s\n" % (error, USAGE))
        return EXIT_USAGE
    state = load_state(prefix)
    if not state or state.get("uninstalled"):
        sys.stderr.write("stormctl smoke: nothing installed at %s\n" % prefix)
        return EXIT_ERROR
    jar = options["jar"] or example_jar(prefix)
    if jar is None or not os.path.isfile(jar):
        sys.stderr.write(
            "stormctl smoke: expected an example topology jar, found %s; pass --jar with "
            "storm-starter of this Storm release, or build the bundle without "
            "--no-smoke-topology\n" % (jar or "none in %s/lib/smoke" % prefix)
        )
        return EXIT_USAGE
    check = Smoke(prefix, state, options)
    copy, folder = readable_copy(jar, state)
    code = EXIT_OK
    try:
        check.run(copy)
    except Failed as failure:
        print("smoke: FAILED at %s" % failure)
        code = EXIT_UNHEALTHY
    finally:
        try:
            check.kill()
        except Failed as failure:
            print("smoke: FAILED at %s" % failure)
            code = EXIT_UNHEALTHY
        shutil.rmtree(folder, ignore_errors=True)
    if code == EXIT_OK:
        print("smoke: passed: %s ran and acked tuples on this cluster" % check.klass)
    return code
