"""The plan: `make_plan(args, bundle, facts) -> Plan`, every decision of an installation made
before the first change: roles, addresses, ids, prefix, user, Java, Pythons, ports, every
config file's bytes. Pure: it asks the host only through `facts` (facts.HostFacts, or recorded
answers in tests) and changes nothing; apply.py carries the Plan out."""

from __future__ import absolute_import, print_function

import os

from ..contract import cluster, contract, extras
from ..errors import UsageError
from ..host.facts import default_prefix
from ..host.ownership import prefix_problem
from ..host.prefixlock import busy, held_by_another
from ..render import configs
from . import planfiles, preflight, upgrade
from .planfiles import FLAG_OF as FLAG_OF  # re-exported: plan.FLAG_OF

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Set, Tuple, TypedDict  # noqa: F401

    # What configs.render is given (docs/installer.md, "Values"): one key per decision.
    Values = TypedDict(
        "Values",
        {
            "prefix": str,
            "user": Optional[str],
            "roles": List[str],
            "host": str,
            "zk_servers": List[str],
            "zk_ids": List[int],
            "zk_id": Optional[int],
            "zk_ports": Dict[str, Optional[int]],
            "nimbus_hosts": List[str],
            "http_bind": str,
            "http_port": int,
            "web_password_sha1": str,
            "java_home": Optional[str],
            "java_major": Optional[int],
            "memory_mb": int,
            "python": str,
            "launcher_python": str,
            "site_dir": str,
            "slots": List[int],
            "heaps": Dict[str, int],
            "storm_options": Dict[str, Any],
            "zk_options": Dict[str, str],
            "childopts_extra": Dict[str, str],
        },
    )

    from ..bundle.bundle import Bundle  # noqa: F401
    from ..flags import Args  # noqa: F401
    from ..host.facts import HostFacts  # noqa: F401

DEFAULT_HTTP_PORT = configs.SUPERVISORD_HTTP_PORT


def identify_host(args, bundle, facts):
    # type: (Args, Bundle, HostFacts) -> Tuple[Optional[Dict[str, Any]], Optional[str]]
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
        return facts.identify(bundle.cluster)
    except cluster.NoMatch as exc:
        problem = str(exc)
    raise UsageError(problem)


def make_plan(args, bundle, facts):
    # type: (Args, Bundle, HostFacts) -> Plan
    """The whole plan, or UsageError for flags that cannot work. Problems of the host (exit 4)
    are collected in Plan.problems, each with its fix; with any, nothing is rendered."""
    plan = Plan(args, bundle, facts)
    plan.resolve()
    preflight.check(plan)
    if not plan.problems and plan.roles:
        plan.render()
        plan.upgrade = upgrade.decide_for(plan)
        preflight.check_copy_space(plan)
    plan.freeze()
    return plan


class Plan(object):
    """Everything decided before the first change. make_plan fills it in, in order, then
    freezes it: apply.py reads a Plan, nothing changes it."""

    def __init__(self, args, bundle, facts):
        # type: (Args, Bundle, HostFacts) -> None
        self._frozen = False
        self.args = args
        self.bundle = bundle
        # The host is asked through facts only, and only until the plan is frozen.
        self.facts = facts  # type: Optional[HostFacts]
        self.env = facts.env
        self.root = facts.root
        self.dry_run = args.dry_run
        # Problems that stop the run (exit 4), each with its fix, and notes for the operator.
        self.problems = []  # type: List[str]
        self.notes = []  # type: List[str]
        # Roles, addresses and ids (resolve).
        self.roles = []  # type: List[str]
        self.zk_servers = []  # type: List[str]
        self.zk_ids = []  # type: List[int]
        self.zk_id = None  # type: Optional[int]
        self.zk_ports = {}  # type: Dict[str, Optional[int]]
        self.nimbus_hosts = []  # type: List[str]
        self.slots = []  # type: List[int]
        self.heaps = {}  # type: Dict[str, int]
        # The operator's extra keys: storm_options, zk_options, childopts_extra (extras.py).
        self.extras = {}  # type: Dict[str, Dict[str, Any]]
        self.host = ""
        self.user = None  # type: Optional[str]
        self.http_bind = "127.0.0.1"
        self.http_port = DEFAULT_HTTP_PORT
        self.init = args.init
        # What this host has (preflight.check).
        self.python = facts.python
        self.python_version = facts.python_version
        self.python_entry = None  # type: Optional[Dict[str, Any]]
        self.python_lock = None  # type: Optional[str]
        self.site_ok = False
        self.launcher_python = None  # type: Optional[str]
        self.java_home = None  # type: Optional[str]
        self.java_major = None  # type: Optional[int]
        self.bundled_jdk = None  # type: Optional[Dict[str, Any]]
        self.memory_mb = 0
        self.web_password = None  # type: Optional[str]
        # What is written (render): the password, the values, every file with its mode.
        self.password = ""
        self.values = None  # type: Optional[Values]
        self.rendered = []  # type: List[Tuple[str, bytes, int]]
        self.conf_text = b""
        self.unit_text = None  # type: Optional[bytes]
        self.socket = ""
        self.pidfile = ""
        self.logfile = ""
        self.program_order = []  # type: List[str]
        # Another release than the installed one (upgrade.py), None for a first install or the
        # same releases again.
        self.upgrade = None  # type: Optional[upgrade.Upgrade]
        # Where (this host's inventory entry may say), and what an earlier run recorded there.
        found = identify_host(args, bundle, facts)
        self.entry = found[0]
        how = found[1]
        self.part = None  # type: Optional[Dict[str, Any]]
        if self.entry is not None and bundle.cluster is not None:
            self.part = cluster.settings(bundle.cluster, self.entry)
            self.notes.append(
                "this host is %s (%s) of the bundle's inventory, found by %s"
                % (self.entry["name"], self.entry["address"], how)
            )
        self.prefix = os.path.normpath(
            args.prefix or (self.part and self.part["prefix"]) or default_prefix(self.root)
        )
        if held_by_another(self.prefix):
            raise busy(self.prefix)
        self.state = facts.state(self.prefix)
        refused = prefix_problem(
            self.prefix, facts.home_dirs(), facts.listing(self.prefix), self.state
        )
        if refused:
            raise UsageError(refused)
        self.conf_path = os.path.join(self.prefix, "etc", "supervisord.conf")
        self.site_dir = os.path.join(self.prefix, "python", "site")

    def __setattr__(self, name, value):
        # type: (str, Any) -> None
        if getattr(self, "_frozen", False):
            raise AttributeError("a Plan is decided once: %s cannot change" % name)
        object.__setattr__(self, name, value)

    def freeze(self):
        # type: () -> None
        """From here on the plan is a value: no attribute changes, no more questions to the
        host."""
        self.facts = None
        self._frozen = True

    def ask(self):
        # type: () -> HostFacts
        if self.facts is None:
            raise AttributeError("a frozen Plan asks the host nothing")
        return self.facts

    def problem(self, text):
        # type: (str) -> None
        self.problems.append(text)

    def site_matches(self):
        # type: () -> bool
        return self.site_ok

    def python_record(self):
        # type: () -> Dict[str, Any]
        return {
            "interpreter": self.python,
            "version": self.python_version,
            "lock": self.python_lock,
        }

    # roles and addresses

    def resolve(self):
        # type: () -> None
        """Flags first, then this host's part of the bundle's inventory, then the defaults of
        a single-node cluster on 127.0.0.1."""
        args = self.args
        part = self.part or {}
        inventory_zk_id = None
        if args.zk_servers or not part:
            self.zk_servers = list(args.zk_servers or ["127.0.0.1"])
            self.zk_ids = list(range(1, len(self.zk_servers) + 1))
        else:
            self.zk_servers, self.zk_ids = part["zk_servers"], part["zk_ids"]
            inventory_zk_id = part["zk_id"]
        self.nimbus_hosts = list(args.nimbus_host or part.get("nimbus_hosts") or ["127.0.0.1"])
        self.zk_ports = part.get("zk_ports") or configs.default_zk_ports(self.zk_facts())
        self.slots = part.get("slots") or list(self.storm_facts().get("slots_ports", []))
        self.heaps = part.get("heaps") or {}
        self.extras = self.operator_extras(part)
        if args.role or not part:
            self.roles = contract.expand_roles(args.role or [], self.zookeeper_here)
        else:
            self.roles = list(part["roles"])
        self.zk_id = None
        if "zookeeper" in self.roles:
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
                local = [i for i, h in enumerate(self.zk_servers) if self.ask().is_local(h)]
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
        bind, port = args.supervisord_ui_bind or ("127.0.0.1", None)
        self.http_bind, self.http_port = bind, DEFAULT_HTTP_PORT if port is None else port
        self.init = args.init
        if self.init == "auto":
            self.init = "systemd" if self.root and self.ask().systemd_running() else "none"

    def operator_extras(self, part):
        # type: (Dict[str, Any]) -> Dict[str, Dict[str, Any]]
        """The inventory's extra keys with --storm-option, --zk-option and --childopts laid
        over them key by key; the options' keys checked against the bundle's key sets."""
        args = self.args
        allow = list(args.allow_unknown_key)
        allow += (self.entry or {}).get("allow_unknown_keys") or []
        known = self.bundle.known_keys
        if known is None and (args.storm_option or args.zk_option):
            self.notes.append(
                "this bundle carries no key sets: the keys of --storm-option and --zk-option "
                "are not checked against the releases"
            )
        problem = None
        try:
            given = extras.parse_options(
                args.storm_option, args.zk_option, args.childopts, known, allow
            )
        except contract.Invalid as exc:
            problem = str(exc)
        if problem is not None:
            raise UsageError(problem)
        merged = extras.overlay(part, given)
        # Options are not remembered: say which keys of the last run this one drops.
        old = (self.state or {}).get("values") if self.installed_here() else None
        dropped = extras.dropped(old or {}, merged)
        if dropped:
            self.notes.append(
                "the last run set %s, this one does not (give the option again to keep it)"
                % ", ".join(dropped)
            )
        return merged

    def zookeeper_here(self):
        # type: () -> bool
        """Whether this host is one of the ensemble (the lone `--role nimbus` asks)."""
        return any(self.ask().is_local(h) for h in self.zk_servers)

    def this_host(self):
        # type: () -> str
        if self.zk_id:
            return self.zk_servers[self.zk_ids.index(self.zk_id)]
        if self.entry is not None:
            return str(self.entry["address"])
        named = self.zk_servers + self.nimbus_hosts
        if "nimbus" in self.roles:
            for host in self.nimbus_hosts:
                if self.ask().is_local(host):
                    return host
        if all(h == "localhost" or h.startswith("127.") for h in named):
            return "127.0.0.1"
        return self.ask().fqdn()

    def service_user(self):
        # type: () -> Optional[str]
        wanted = self.args.user
        me = self.ask().user
        if not self.root:
            if not wanted and self.part and self.part["user"]:
                self.notes.append(
                    "not root: the daemons run as %s, not as the inventory's user %s"
                    % (me, self.part["user"])
                )
            if wanted and wanted != me:
                self.problem(
                    "--user %s: running daemons as another user needs root; fix: run as root, "
                    "or drop --user to run them as %s" % (wanted, me)
                )
            return None
        return wanted or (self.part and self.part["user"]) or "storm"

    # the files (planfiles.py)

    def render(self):
        # type: () -> None
        """Every config file, rendered before the first change so that a value configs.py
        refuses stops the run while the host is untouched."""
        planfiles.render(self)

    def stored_password(self):
        # type: () -> Optional[str]
        return planfiles.stored_password(self)

    def zookeeper_logging(self, rendered):
        # type: (Set[str]) -> List[Tuple[str, bytes, int]]
        """The release's own logging config beside zoo.cfg: ZooKeeper's launcher puts
        ZOOCFGDIR first on the classpath, so that is where it is looked for."""
        return planfiles.zookeeper_logging(self, rendered)

    def installed_here(self):
        # type: () -> bool
        state = self.state or {}
        return state.get("prefix") == self.prefix and not state.get("uninstalled")

    def components(self):
        # type: () -> Dict[str, Dict[str, Any]]
        """{link name: manifest component} of what goes under releases/."""
        found = {"zookeeper": self.bundle.zookeeper, "storm": self.bundle.storm}
        jdk = getattr(self, "bundled_jdk", None)  # type: Optional[Dict[str, Any]]
        if jdk:
            found["jdk"] = jdk
        return found

    def zk_facts(self):
        # type: () -> Dict[str, Any]
        facts = self.bundle.zookeeper["facts"]  # type: Dict[str, Any]
        return facts

    def storm_facts(self):
        # type: () -> Dict[str, Any]
        facts = self.bundle.storm["facts"]  # type: Dict[str, Any]
        return facts

    def release_file(self, component, rel, limit):
        # type: (Dict[str, Any], str, int) -> Optional[bytes]
        """The first bytes of a file of a release, from the unpacked release when present,
        else from its tarball."""
        unpacked = os.path.join(self.prefix, "releases", component["top"], rel)
        if self.ask().is_file(unpacked):
            return self.ask().read(unpacked, limit)
        return self.ask().member(
            self.bundle.path(component["artifact"]), component["top"] + "/" + rel, limit
        )

    def make_values(self, web_password_sha1):
        # type: (str) -> Values
        return planfiles.make_values(self, web_password_sha1)
