"""The plan as values: `Plan`, every decision of an installation, and `Upgrade`, the decisions
of one upgrade. make_plan (plan.py) fills a Plan in, in order, then freezes it; the installer,
the health check and the upgrade's steps read it. Data only: nothing here asks the host, and
it imports nothing of the package but for types, so any stage may read a Plan."""

from __future__ import absolute_import, print_function

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Tuple, TypedDict  # noqa: F401

    # What configs.render is given (docs/explanation/installer-internals.md, "Values"): one key
    # per decision.
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


class Upgrade(object):
    """The decisions of one upgrade (upgrade.py): per component from -> to, which programs
    restart and in which order, the Storm major-line change (if any), where ZooKeeper's data
    is copied and what its data folder says about the snapshot trap."""

    def __init__(self):
        # type: () -> None
        self.changes = []  # type: List[Tuple[str, str, str]]
        self.major = None  # type: Optional[Tuple[str, str]]
        self.restarts = []  # type: List[str]
        self.zk_copy = None  # type: Optional[str]
        # The old release must write a snapshot first (zksnapshot.py): its version.
        self.snapshot_first = None  # type: Optional[str]

    def changed(self, name):
        # type: (str) -> bool
        return any(c[0] == name for c in self.changes)


class Plan(object):
    """Everything decided before the first change. make_plan fills it in, in order, then
    freezes it: apply.py reads a Plan, nothing changes it."""

    def __init__(self, args, bundle):
        # type: (Args, Bundle) -> None
        self._frozen = False
        self.args = args
        self.bundle = bundle
        self.root = False
        self.dry_run = args.dry_run
        # Problems that stop the run (exit 4), each with its fix, and notes for the operator.
        self.problems = []  # type: List[str]
        self.notes = []  # type: List[str]
        # Where (this host's inventory entry may say), and what an earlier run recorded there.
        self.entry = None  # type: Optional[Dict[str, Any]]
        self.part = None  # type: Optional[Dict[str, Any]]
        self.prefix = ""
        self.state = None  # type: Optional[Dict[str, Any]]
        self.conf_path = ""
        self.site_dir = ""
        # Roles, addresses and ids (plan.resolve).
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
        self.http_port = 0
        self.init = args.init
        # What this host has (preflight.check).
        self.python = ""
        self.python_version = ""
        self.python_entry = None  # type: Optional[Dict[str, Any]]
        self.python_lock = None  # type: Optional[str]
        self.site_ok = False
        self.launcher_python = None  # type: Optional[str]
        self.java_home = None  # type: Optional[str]
        self.java_major = None  # type: Optional[int]
        self.bundled_jdk = None  # type: Optional[Dict[str, Any]]
        self.memory_mb = 0
        self.web_password = None  # type: Optional[str]
        # What is written (planfiles.render): the password, the values, every file with its
        # mode, what supervisord.conf says, and what each program is started with.
        self.password = ""
        self.values = None  # type: Optional[Values]
        self.rendered = []  # type: List[Tuple[str, bytes, int]]
        self.conf_text = b""
        self.unit_text = None  # type: Optional[bytes]
        self.socket = ""
        self.pidfile = ""
        self.logfile = ""
        self.program_order = []  # type: List[str]
        self.fingerprints = {}  # type: Dict[str, str]
        # Another release than the installed one (upgrade.py), None for a first install or the
        # same releases again.
        self.upgrade = None  # type: Optional[Upgrade]

    def __setattr__(self, name, value):
        # type: (str, Any) -> None
        if getattr(self, "_frozen", False):
            raise AttributeError("a Plan is decided once: %s cannot change" % name)
        object.__setattr__(self, name, value)

    def freeze(self):
        # type: () -> None
        """From here on the plan is a value: no attribute changes."""
        self._frozen = True

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
