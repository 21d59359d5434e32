"""Preflight: every check of this host against the plan, each problem with its fix. Nothing
here changes the host."""

from __future__ import absolute_import, print_function

import os
import platform
import re
import sys

from . import configs, health
from .facts import (
    LAUNCHER_PYTHON_PATHS,
    LAUNCHER_PYTHONS,
    current_user,
    find_java,
    free_bytes,
    ids_of,
    nearest_existing,
    port_problem,
    python_info,
    reachable,
    systemd_running,
)
from .roles import STORM_DAEMONS
from .system import read_bytes, which
from .versions import satisfies, version_tuple


class Preflight(object):
    """Mixed into Plan: fills in the host facts the plan needs and collects its problems."""

    def check_permissions(self):
        if self.root:
            creatable = which("useradd") or which("adduser")
            if self.user and ids_of(self.user) is None and not creatable:
                self.problem(
                    "service user %s does not exist and neither useradd nor adduser is "
                    "here; fix: create the user, or install the passwd/shadow tools" % self.user
                )
            ids = ids_of(self.user) if self.user else None
            blocked = reachable(self.prefix, ids) if self.user else None
            if blocked:
                self.problem(
                    "service user %s cannot reach %s: %s is mode %s; fix: chmod o+x %s, or "
                    "choose another --prefix"
                    % (
                        self.user,
                        self.prefix,
                        blocked,
                        oct(os.stat(blocked).st_mode & 0o777),
                        blocked,
                    )
                )
        else:
            existing = nearest_existing(self.prefix)
            if not os.access(existing, os.W_OK | os.X_OK):
                self.problem(
                    "cannot install into %s: %s is not writable by %s; fix: run as root, or "
                    "pass --prefix with a folder you own" % (self.prefix, existing, current_user())
                )
            if self.args.init == "systemd":
                self.problem("--init systemd needs root; fix: run as root or use --init none")
        if self.args.init == "systemd" and not systemd_running():
            self.problem(
                "--init systemd but systemd does not run this host (no /run/systemd/system); "
                "fix: use --init none (or auto)"
            )

    def check_tools(self):
        if self.init == "systemd" and not which("systemctl"):
            self.problem("systemctl not found for --init systemd; fix: use --init none")
        if "zookeeper" in self.roles:
            shebang = self.release_file(self.bundle.zookeeper, self.zk_facts()["launcher"], 256)
            line = (shebang or b"").split(b"\n", 1)[0].decode("utf-8", "replace")
            for shell in ("bash", "sh"):
                if line.startswith("#!") and re.search(r"\b%s\b" % shell, line):
                    if not which(shell) and not os.path.exists("/bin/" + shell):
                        self.problem(
                            "ZooKeeper's %s needs %s (%s); fix: install %s"
                            % (self.zk_facts()["launcher"], shell, line, shell)
                        )
                    break

    def check_python(self):
        self.python = sys.executable
        self.python_version = platform.python_version()
        entry = self.bundle.python_entry(sys.version_info)
        if entry is None:
            self.problem(
                "%s is Python %s, which this bundle has no packages for (it has %s); fix: pass "
                "--python with one of those"
                % (
                    sys.executable,
                    self.python_version,
                    ", ".join(sorted(self.bundle.pythons, key=version_tuple)),
                )
            )
        self.python_entry = entry

    def check_java(self):
        low, high, needs = None, None, []
        components = []
        if any(r in STORM_DAEMONS for r in self.roles):
            components.append(("Storm", self.bundle.storm))
        if "zookeeper" in self.roles or not self.roles:
            components.append(("ZooKeeper", self.bundle.zookeeper))
        if not self.roles:
            components.append(("Storm", self.bundle.storm))
        for display, component in components:
            facts = component["facts"]
            if facts.get("java_min"):
                low = max(low or 0, facts["java_min"])
            if facts.get("java_max"):
                high = min(high or 1000, facts["java_max"])
            needs.append("%s %s" % (display, component["version"]))
        if low and high and low > high:
            self.problem(
                "%s need Java versions that do not overlap; fix: build a bundle with releases "
                "of the same era (see `bundler recipes`)" % " and ".join(needs)
            )
        self.java_home, self.java_major, problem = find_java(
            self.env, low, high, " and ".join(needs)
        )
        self.bundled_jdk = None
        jdk = self.bundle.manifest["components"].get("jdk")
        if problem and jdk:
            major = jdk.get("java_major") or 0
            if (not low or major >= low) and (not high or major <= high):
                # The host's Java does not do: the JDK the bundle carries does.
                self.bundled_jdk = jdk
                self.java_home = os.path.join(self.prefix, "jdk")
                self.java_major = major
                self.notes.append(
                    "using the bundle's JDK (Java %s) as %s: %s"
                    % (jdk.get("version"), self.java_home, problem.split("; fix:")[0])
                )
                return
            problem += "; the bundle's JDK is Java %d, which does not fit either" % major
        if problem:
            self.problem(problem)
        elif self.user:
            java = os.path.join(self.java_home, "bin", "java")
            blocked = reachable(java, ids_of(self.user))
            if blocked:
                self.problem(
                    "service user %s cannot run %s (%s is in the way); fix: install a Java "
                    "outside private folders and set JAVA_HOME" % (self.user, java, blocked)
                )

    def check_launcher_python(self):
        self.launcher_python = None
        if not any(r in STORM_DAEMONS for r in self.roles) and self.roles:
            return
        spec = self.storm_facts().get("launcher_python") or ">=2.6"
        ids = ids_of(self.user) if self.user else None
        if self.args.launcher_python:
            candidates = [self.args.launcher_python]
        else:
            path = self.env.get("PATH", "")
            candidates = [which(n, path) for n in LAUNCHER_PYTHONS]
            candidates += list(LAUNCHER_PYTHON_PATHS) + [sys.executable]
        tried = []
        seen = set()
        for candidate in candidates:
            if not candidate or candidate in seen:
                continue
            seen.add(candidate)
            info = python_info(candidate)
            if info is None:
                if self.args.launcher_python:
                    tried.append("%s does not run" % candidate)
                continue
            executable, version = info
            label = "%s (%s)" % (executable, ".".join(map(str, version)))
            if not satisfies(version, spec):
                tried.append(label + " is outside " + spec)
                continue
            if self.user and reachable(executable, ids):
                tried.append(label + " is not reachable by user " + self.user)
                continue
            self.launcher_python = executable
            return
        self.problem(
            "Storm %s's launcher needs Python %s%s; tried: %s; fix: install one (e.g. "
            "apt-get install %s) or pass --launcher-python PATH"
            % (
                self.bundle.storm["version"],
                spec,
                " that user %s can run" % self.user if self.user else "",
                "; ".join(tried) or "nothing found",
                "python2" if satisfies((3, 99), spec) is False else "python3-minimal",
            )
        )

    def check_disk(self):
        need = 64 << 20
        for component in self.components().values():
            if not os.path.isdir(os.path.join(self.prefix, "releases", component["top"])):
                size = os.path.getsize(self.bundle.path(component["artifact"]))
                need += size * 3  # release tarballs unpack to about 2 to 3 times their size
        if self.python_entry and not self.site_matches():
            for wheel in self.python_entry["wheels"]:
                need += os.path.getsize(self.bundle.path(wheel)) * 3
        have = free_bytes(self.prefix)
        if have < need:
            self.problem(
                "%s has %d MB free, the installation needs about %d MB; fix: free some space "
                "or choose another --prefix"
                % (nearest_existing(self.prefix), have >> 20, (need >> 20) + 1)
            )

    def ports(self, roles):
        storm_ports = self.storm_facts().get("ports", {})
        ports = []
        if "zookeeper" in roles:
            ports.append((self.zk_ports["client"], "ZooKeeper client port"))
            if len(self.zk_servers) > 1:
                ports.append((self.zk_ports["peer"], "ZooKeeper peer port"))
                ports.append((self.zk_ports["election"], "ZooKeeper election port"))
            admin = configs.zk_admin_port(self.zk_facts(), roles, self.zk_ports)
            if admin is not None:
                ports.append((admin, "ZooKeeper AdminServer"))
        named = {
            "nimbus": "nimbus.thrift.port",
            "ui": "ui.port",
            "logviewer": "logviewer.port",
            "drpc": "drpc.port",
        }
        for role in STORM_DAEMONS:
            if role in roles and named.get(role) in storm_ports:
                ports.append((storm_ports[named[role]], "%s (%s)" % (role, named[role])))
        if "supervisor" in roles:
            for port in self.slots:
                ports.append((port, "worker slot (supervisor.slots.ports)"))
        return ports

    def check_ports(self):
        if not self.roles:
            self.notes.append("no --role given: ports not checked")
            return
        ours = set()
        state = self.state if self.installed_here() else None
        if state and health.supervisord_state(state.get("socket", "")) is not None:
            # Held by this installation's own programs: a re-run needs them, not free.
            ours = set(p for p, _ in self.ports(state.get("roles", [])))
            ours.add(state.get("values", {}).get("http_port"))
        wanted = self.ports(self.roles)
        if self.http_port not in ours:
            address = "0.0.0.0" if self.http_bind in ("0.0.0.0", "*", "") else self.http_bind
            wanted.append((self.http_port, "supervisord web interface on " + address))
        for port, what in wanted:
            if port in ours:
                continue
            problem = port_problem(port)
            if problem:
                self.problem(
                    "port %d for the %s is %s; fix: stop what holds it, or leave that role to "
                    "another host" % (port, what, problem)
                )

    def check_password_file(self):
        path = self.args.web_password_file
        self.web_password = None
        if not path:
            return
        try:
            text = read_bytes(path).decode("utf-8").strip("\r\n")
        except (IOError, OSError, UnicodeDecodeError) as exc:
            self.problem(
                "--web-password-file %s cannot be read (%s); fix: give a readable file that "
                "holds the password" % (path, exc)
            )
            return
        if not text.strip() or "\n" in text:
            self.problem(
                "--web-password-file %s must hold one non-empty line; fix: write the password "
                "on one line" % path
            )
            return
        self.web_password = text
