"""The plan: options resolved against the bundle and this host's facts."""

from __future__ import absolute_import, print_function

import binascii
import hashlib
import os
import re
import socket

from . import archive, cluster, configs
from .errors import UsageError
from .facts import current_user, default_prefix, is_local_address, memory_mb, systemd_running
from .ownership import check_prefix
from .roles import DAEMONS
from .sha256check import digest as sha256_file
from .state import load_state
from .supervisord import parse_conf
from .system import read_bytes, to_bytes

DEFAULT_HTTP_PORT = configs.SUPERVISORD_HTTP_PORT
# Flags behind the values configs.validate_values names, for usage errors.
FLAG_OF = {
    "prefix": "--prefix",
    "user": "--user",
    "zk_servers": "--zk-servers",
    "zk_id": "--zk-id",
    "nimbus_hosts": "--nimbus-host",
    "http_bind": "--ui-bind",
    "http_port": "--ui-bind",
    "launcher_python": "--launcher-python",
    "python": "--python",
    "zk_ids": "--zk-servers",
}


def split_list(text):
    return [item for item in (text or "").split(",") if item]


# --- the plan: options resolved against the bundle and the host ---


def identify_host(args, bundle):
    """(inventory entry, how it was found) of this host, (None, None) without an inventory.
    --host names it; otherwise the hostname or one of this host's addresses must match exactly
    one inventory host."""
    if bundle.cluster is None:
        if args.host:
            raise UsageError(
                "--host %s: this bundle carries no cluster inventory (build it with "
                "`bundler build --cluster cluster.toml`)" % args.host
            )
        return None, None
    problem = None
    try:
        if args.host:
            return cluster.find(bundle.cluster, args.host), "--host %s" % args.host
        return cluster.identify(bundle.cluster)
    except cluster.NoMatch as exc:
        problem = str(exc)
    raise UsageError(problem)


class Plan(object):
    """Everything decided before the first change: roles, paths, addresses, Java, Pythons."""

    def __init__(self, args, bundle, env):
        self.args = args
        self.bundle = bundle
        self.env = env
        self.root = os.geteuid() == 0
        self.dry_run = args.dry_run
        self.problems = []
        self.notes = []
        self.entry, how = identify_host(args, bundle)
        self.part = None
        if self.entry is not None:
            self.part = cluster.settings(bundle.cluster, self.entry)
            self.notes.append(
                "this host is %s (%s) of the bundle's inventory, found by %s"
                % (self.entry["name"], self.entry["address"], how)
            )
        self.prefix = os.path.normpath(
            args.prefix or (self.part and self.part["prefix"]) or default_prefix(self.root)
        )
        self.state = load_state(self.prefix)
        check_prefix(self.prefix, self.state)
        self.conf_path = os.path.join(self.prefix, "etc", "supervisord.conf")

    def problem(self, text):
        self.problems.append(text)

    # roles and addresses

    def resolve(self):
        """Flags first, then this host's part of the bundle's inventory, then the defaults of
        a single-node cluster on 127.0.0.1."""
        args = self.args
        part = self.part or {}
        if args.zk_servers or not part:
            self.zk_servers = split_list(args.zk_servers) or ["127.0.0.1"]
            self.zk_ids = list(range(1, len(self.zk_servers) + 1))
            inventory_zk_id = None
        else:
            self.zk_servers, self.zk_ids = part["zk_servers"], part["zk_ids"]
            inventory_zk_id = part["zk_id"]
        self.nimbus_hosts = (
            split_list(args.nimbus_host) or part.get("nimbus_hosts") or ["127.0.0.1"]
        )
        self.zk_ports = part.get("zk_ports") or configs.default_zk_ports(self.zk_facts())
        self.slots = part.get("slots") or list(self.storm_facts().get("slots_ports", []))
        self.heaps = part.get("heaps") or {}
        if args.role or not part:
            self.roles = self.expand_roles(split_list(args.role))
        else:
            self.roles = list(part["roles"])
        runs_zk = "zookeeper" in self.roles
        self.zk_id = None
        if runs_zk:
            if args.zk_id:
                if args.zk_id not in self.zk_ids:
                    raise UsageError(
                        "--zk-id %d but the ensemble's ids are %s (%s)"
                        % (
                            args.zk_id,
                            ",".join(str(i) for i in self.zk_ids),
                            "--zk-servers" if args.zk_servers or not part else "the inventory",
                        )
                    )
                self.zk_id = args.zk_id
            elif inventory_zk_id:
                self.zk_id = inventory_zk_id
            elif len(self.zk_servers) == 1:
                self.zk_id = self.zk_ids[0]
            else:
                local = [i for i, h in enumerate(self.zk_servers) if is_local_address(h)]
                if len(local) == 1:
                    self.zk_id = self.zk_ids[local[0]]
                else:
                    self.problem(
                        "cannot tell which of --zk-servers %s is this host (%s match); fix: "
                        "pass --zk-id N, N being this host's place in that list"
                        % (",".join(self.zk_servers), len(local) or "none")
                    )
        if self.storm_facts().get("nimbus_key") == "nimbus.host" and len(self.nimbus_hosts) > 1:
            raise UsageError(
                "--nimbus-host names %d hosts, but Storm %s has a single Nimbus (nimbus.host); "
                "name one" % (len(self.nimbus_hosts), self.bundle.storm["version"])
            )
        self.host = self.this_host()
        self.user = self.service_user()
        bind = args.ui_bind or "127.0.0.1"
        if ":" in bind:
            bind, port = bind.rsplit(":", 1)
            self.http_bind, self.http_port = bind, int(port)
        else:
            self.http_bind, self.http_port = bind, DEFAULT_HTTP_PORT
        self.init = args.init
        if self.init == "auto":
            self.init = "systemd" if self.root and systemd_running() else "none"
        self.site_dir = os.path.join(self.prefix, "python", "site")

    def expand_roles(self, names):
        if not names:
            return []
        if names == ["nimbus"]:
            # The book's Nimbus host: ZooKeeper too unless the ensemble lives elsewhere.
            roles = set(["nimbus", "ui", "supervisor"])
            if any(is_local_address(h) for h in self.zk_servers):
                roles.add("zookeeper")
        elif "all" in names:
            roles = set(DAEMONS)
        else:
            roles = set(names)
        return [d for d in DAEMONS if d in roles]

    def this_host(self):
        if self.zk_id:
            return self.zk_servers[self.zk_ids.index(self.zk_id)]
        if self.entry is not None:
            return self.entry["address"]
        named = self.zk_servers + self.nimbus_hosts
        if "nimbus" in self.roles:
            for host in self.nimbus_hosts:
                if is_local_address(host):
                    return host
        if all(h == "localhost" or h.startswith("127.") for h in named):
            return "127.0.0.1"
        return socket.getfqdn()

    def service_user(self):
        wanted = self.args.user
        if not self.root:
            if not wanted and self.part and self.part["user"]:
                self.notes.append(
                    "not root: the daemons run as %s, not as the inventory's user %s"
                    % (current_user(), self.part["user"])
                )
            if wanted and wanted != current_user():
                self.problem(
                    "--user %s: running daemons as another user needs root; fix: run as root, "
                    "or drop --user to run them as %s" % (wanted, current_user())
                )
            return None
        return wanted or (self.part and self.part["user"]) or "storm"

    # preflight

    def preflight(self):
        """Fill in the host facts and collect every problem; nothing is changed."""
        self.check_permissions()
        self.check_tools()
        self.check_python()
        self.check_java()
        self.check_launcher_python()
        self.check_disk()
        self.check_ports()
        self.check_password_file()
        self.memory_mb = memory_mb()
        if not self.problems and self.roles:
            self.render()

    def render(self):
        """Every config file, rendered before the first change so that a value configs.py
        refuses stops the run while the host is untouched."""
        self.password = self.web_password or self.stored_password()
        if not self.password:
            self.password = binascii.hexlify(os.urandom(18)).decode("ascii")
        sha1 = hashlib.sha1(self.password.encode("utf-8")).hexdigest()
        self.values = self.make_values(sha1)
        refused = None
        try:
            rendered = configs.render(self.bundle.manifest, self.values)
        except ValueError as exc:
            refused = str(exc)
        if refused is not None:
            match = re.match(r"values\['(\w+)'\]", refused)
            flag = FLAG_OF.get(match.group(1)) if match else None
            raise UsageError("%s%s" % (flag + ": " if flag else "", refused))
        self.rendered = [(rel, to_bytes(text), mode) for rel, text, mode in rendered]
        self.rendered += self.zookeeper_logging(set(r for r, _, _ in self.rendered))
        files = dict((rel, data) for rel, data, _ in self.rendered)
        self.conf_text = files["etc/supervisord.conf"]
        self.unit_text = [d for r, d in files.items() if r.startswith("etc/systemd/")][:1]
        self.unit_text = self.unit_text[0] if self.unit_text else None
        conf = parse_conf(self.conf_text)
        self.socket = conf["unix_http_server"]["file"]
        self.pidfile = conf["supervisord"]["pidfile"]
        self.logfile = conf["supervisord"]["logfile"]
        programs = [
            (int(v.get("priority", 999)), k.split(":", 1)[1])
            for k, v in conf.items()
            if k.startswith("program:")
        ]
        self.program_order = [name for _, name in sorted(programs)]

    def stored_password(self):
        path = os.path.join(self.prefix, "etc", "web-password")
        try:
            return read_bytes(path).decode("utf-8").strip("\r\n") or None
        except (IOError, OSError, UnicodeDecodeError):
            return None

    def zookeeper_logging(self, rendered):
        """The release's own logging config beside zoo.cfg: ZooKeeper's launcher puts
        ZOOCFGDIR first on the classpath, so that is where it is looked for."""
        rel = self.zk_facts().get("log_config")
        if "zookeeper" not in self.roles or not rel:
            return []
        dest = "etc/zookeeper/" + rel.rsplit("/", 1)[-1]
        if dest in rendered:
            return []
        data = self.release_file(self.bundle.zookeeper, rel, 1 << 20)
        if data is None:
            self.notes.append(
                "ZooKeeper %s has no %s: its logging stays as the release ships it"
                % (self.bundle.zookeeper["version"], rel)
            )
            return []
        return [(dest, data, 0o644)]

    def installed_here(self):
        state = self.state
        return bool(state) and state.get("prefix") == self.prefix and not state.get("uninstalled")

    def components(self):
        """{link name: manifest component} of what goes under releases/."""
        found = {"zookeeper": self.bundle.zookeeper, "storm": self.bundle.storm}
        if getattr(self, "bundled_jdk", None):
            found["jdk"] = self.bundled_jdk
        return found

    def zk_facts(self):
        return self.bundle.zookeeper["facts"]

    def storm_facts(self):
        return self.bundle.storm["facts"]

    def release_file(self, component, rel, limit):
        """The first bytes of a file of a release, from the unpacked release when present,
        else from its tarball."""
        unpacked = os.path.join(self.prefix, "releases", component["top"], rel)
        if os.path.isfile(unpacked):
            with open(unpacked, "rb") as handle:
                return handle.read(limit)
        try:
            return archive.read_member(
                self.bundle.path(component["artifact"]), component["top"] + "/" + rel, limit
            )
        except Exception:  # a damaged tarball is reported when it is extracted
            return None

    def site_matches(self):
        state = self.state if self.installed_here() else None
        if not state or not self.python_entry:
            return False
        return state.get("python") == self.python_record() and os.path.isfile(
            os.path.join(self.site_dir, "bin", "supervisord")
        )

    def python_record(self):
        lock = sha256_file(self.bundle.path(self.python_entry["lock"]))
        return {"interpreter": self.python, "version": self.python_version, "lock": lock}

    def make_values(self, web_password_sha1):
        return {
            "prefix": self.prefix,
            "user": self.user,
            "roles": list(self.roles),
            "host": self.host,
            "zk_servers": list(self.zk_servers),
            "zk_ids": list(self.zk_ids),
            "zk_id": self.zk_id,
            "zk_ports": dict(self.zk_ports),
            "nimbus_hosts": list(self.nimbus_hosts),
            "http_bind": self.http_bind,
            "http_port": self.http_port,
            "web_password_sha1": web_password_sha1,
            "java_home": self.java_home,
            "java_major": self.java_major,
            "memory_mb": self.memory_mb,
            "python": self.python,
            "launcher_python": self.launcher_python or self.python,
            "site_dir": self.site_dir,
            "slots": list(self.slots),
            "heaps": dict(self.heaps),
        }
