"""What the build side and the on-host installer must agree on, defined once: the roles and
the --role presets, the exit codes, ZooKeeper's port keys and serving modes, and the rule for
every value an operator supplies (names, addresses, users, paths, ports, ids, slots, heaps).

Both sides import this module: the build side as `bundler.onhost.contract.contract`, the
installer from the bundle's onhost/ folder. A value the inventory accepts is therefore one the
installer and the config writers accept too, and the other way round.

Every rule is a full match (`\\Z`, never `$`, which lets a trailing newline through), refuses
control characters anywhere, bounds the length, and either returns the value or raises
`Invalid`, whose message is one line: what was expected, what was found, what to do. The
caller names the value (`--prefix`, `[cluster] prefix`, `values['prefix']`) in `label`.

The value rules themselves are in valuerules.py; this module re-exports every one of them, so
`contract.X` stays the one name for each.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, division, print_function, unicode_literals

# Re-exported: the value rules (valuerules.py), and the two helpers other modules use.
from .valuerules import _CONTROL as _CONTROL
from .valuerules import HEAP_KEYS as HEAP_KEYS
from .valuerules import HEAP_MB_RANGE as HEAP_MB_RANGE
from .valuerules import HOST_EXPECTED as HOST_EXPECTED
from .valuerules import HOST_NAME_MAX as HOST_NAME_MAX
from .valuerules import INTEGER_TYPES as INTEGER_TYPES
from .valuerules import JAVA_MAJOR_RANGE as JAVA_MAJOR_RANGE
from .valuerules import MEMORY_MB_RANGE as MEMORY_MB_RANGE
from .valuerules import PATH_EXPECTED as PATH_EXPECTED
from .valuerules import PATH_MAX as PATH_MAX
from .valuerules import PORT_RANGE as PORT_RANGE
from .valuerules import PREFIX_MAX as PREFIX_MAX
from .valuerules import SECONDS_RANGE as SECONDS_RANGE
from .valuerules import SHOW_MAX as SHOW_MAX
from .valuerules import STRING_TYPES as STRING_TYPES
from .valuerules import USER_EXPECTED as USER_EXPECTED
from .valuerules import ZK_ID_RANGE as ZK_ID_RANGE
from .valuerules import Invalid as Invalid
from .valuerules import _string as _string
from .valuerules import check_address as check_address
from .valuerules import check_bind_address as check_bind_address
from .valuerules import check_bundle_name as check_bundle_name
from .valuerules import check_cluster_name as check_cluster_name
from .valuerules import check_heaps as check_heaps
from .valuerules import check_host_list as check_host_list
from .valuerules import check_host_name as check_host_name
from .valuerules import check_int as check_int
from .valuerules import check_path as check_path
from .valuerules import check_port as check_port
from .valuerules import check_prefix as check_prefix
from .valuerules import check_slots as check_slots
from .valuerules import check_user as check_user
from .valuerules import check_zk_id as check_zk_id
from .valuerules import each_once as each_once
from .valuerules import has_control as has_control
from .valuerules import is_int as is_int
from .valuerules import is_ipv4 as is_ipv4
from .valuerules import normal_prefix as normal_prefix
from .valuerules import parse_bind as parse_bind
from .valuerules import parse_host_list as parse_host_list
from .valuerules import parse_int as parse_int
from .valuerules import plain as plain
from .valuerules import show as show

MYPY = False
if MYPY:  # pragma: no cover - type comments only; `typing` is not on every target Python 2.7
    from typing import (  # noqa: F401
        Any,
        Callable,
        Dict,
        Iterable,
        List,
        Mapping,
        Optional,
        Sequence,
        Tuple,
    )


# --- exit codes ---

# (name, code, meaning): install.sh, the installer and `bundler` exit with these. The build
# side's ExitCode (bundler/errors.py) takes its values from here.
EXIT_CODES = (
    ("OK", 0, "ok"),
    ("ERROR", 1, "error"),
    ("USAGE", 2, "usage: a flag, option or input file that cannot work"),
    ("INTEGRITY", 3, "the bundle (or a download) fails its checks"),
    ("PREREQ", 4, "prerequisites missing: a tool, a Java, a writable folder, free disk"),
    ("UNHEALTHY", 5, "services did not become healthy"),
    ("INTERRUPTED", 130, "interrupted (Ctrl-C)"),
)  # type: Tuple[Tuple[str, int, str], ...]
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTEGRITY = 3
EXIT_PREREQ = 4
EXIT_UNHEALTHY = 5
EXIT_INTERRUPTED = 130


def exit_codes_text():
    # type: () -> str
    """The table in one line, for --help texts: `0 ok, 1 error, 2 usage, ...`."""
    return ", ".join("%d %s" % (code, meaning.split(":")[0]) for _, code, meaning in EXIT_CODES)


# --- roles and presets ---

# Daemons in start order; `zookeeper` is ZooKeeper, the rest are Storm's.
ROLES = ("zookeeper", "nimbus", "supervisor", "ui", "logviewer", "drpc")  # type: Tuple[str, ...]
STORM_ROLES = ROLES[1:]
# --role words that stand for several daemons (see expand_roles).
PRESETS = ("all",)  # type: Tuple[str, ...]
ROLE_WORDS = ROLES + PRESETS
# A lone `--role nimbus` is the Nimbus host of a small cluster.
NIMBUS_HOST_ROLES = ("nimbus", "ui", "supervisor")  # type: Tuple[str, ...]


def parse_roles(text, label="--role"):
    # type: (Any, str) -> List[str]
    """`--role` as given: a comma list of role words, each known, none empty or twice."""
    words = _string(text, label, "a comma list of: %s" % ", ".join(ROLE_WORDS), 200)
    names = words.split(",")
    for name in names:
        if name not in ROLE_WORDS:
            raise Invalid(
                label,
                "expected a comma list of: %s; found %s" % (", ".join(ROLE_WORDS), show(name)),
                "name the roles this host runs",
            )
    each_once(label, names, "role", words, "names")
    return names


def expand_roles(names, zookeeper_here):
    # type: (Sequence[str], Callable[[], bool]) -> List[str]
    """The daemons a list of role words stands for, in start order.

    `all` is every daemon (a single-node cluster). A lone `nimbus` is the Nimbus host of a
    small cluster: nimbus, ui and supervisor, and zookeeper too when this host is one of the
    ensemble (`zookeeper_here()`, asked only then: it may look names up). Any other list names
    its daemons exactly."""
    if not names:
        return []
    if "all" in names:
        wanted = set(ROLES)
    elif list(names) == ["nimbus"]:
        wanted = set(NIMBUS_HOST_ROLES)
        if zookeeper_here():
            wanted.add("zookeeper")
    else:
        wanted = set(names)
    return [role for role in ROLES if role in wanted]


def check_roles(value, label):
    # type: (Any, str) -> List[str]
    """A list of daemons (no presets): non-empty, each known, none twice."""
    if not isinstance(value, list) or not value:
        raise Invalid(
            label,
            "expected a non-empty list of roles (%s), found %s" % (", ".join(ROLES), show(value)),
            "list the daemons this host runs",
        )
    for role in value:
        if role not in ROLES:
            raise Invalid(
                label,
                "unknown role %s: expected any of %s" % (show(role), ", ".join(ROLES)),
                "use those names",
            )
    each_once(label, value, "role")
    return list(value)


# --- Storm's ports ---

# Each role's listening ports: (role, storm.yaml key, what, roles of the hosts that reach it,
# who else does, how the health check asks it). The port is the release's (recipes/storm.toml
# `ports`) or the operator's storm option; a key the release's facts lack is not opened.
STORM_PORTS = (
    ("nimbus", "nimbus.thrift.port", "Nimbus Thrift", STORM_ROLES,
     "topology clients (storm jar, storm list)", "tcp"),
    ("supervisor", "supervisor.thrift.port", "supervisor Thrift (Nimbus's assignments)",
     ("nimbus",), None, None),
    ("ui", "ui.port", "Storm UI", (), "operators' browsers", "http"),
    ("logviewer", "logviewer.port", "logviewer", ("ui",),
     "operators' browsers (the UI links to it)", "http"),
    ("drpc", "drpc.port", "DRPC", (), "DRPC clients", "tcp"),
    ("drpc", "drpc.invocations.port", "DRPC invocations (topologies' DRPC spouts)",
     ("supervisor",), None, None),
    ("drpc", "drpc.http.port", "DRPC over HTTP", (), "DRPC clients", None),
)  # type: Tuple[Tuple[str, str, str, Tuple[str, ...], Optional[str], Optional[str]], ...]  # fmt: skip


def probe_port(role, storm_ports):
    # type: (Optional[str], Mapping[str, Any]) -> Optional[Tuple[str, int]]
    """("tcp" or "http", port) the health check asks a role's daemon on, from the release's
    ports; None for a role with no port to ask."""
    for owner, key, _, _, _, kind in STORM_PORTS:
        if owner == role and kind and key in storm_ports:
            return kind, int(storm_ports[key])
    return None


def smoke_topology_class(storm_facts):
    # type: (Mapping[str, Any]) -> str
    """storm-starter's ExclamationTopology in the release's packages (storm.starter before
    Storm 1.0, org.apache.storm.starter since): the topology `stormctl smoke` submits."""
    package = storm_facts.get("java_package") or "org.apache.storm"
    starter = "storm.starter" if package == "backtype.storm" else "org.apache.storm.starter"
    return starter + ".ExclamationTopology"


# --- ZooKeeper ---

# values['zk_ports'] (cluster.toml: zk_KEY_port). admin is None unless set: the renderer picks
# the AdminServer's port by the release and the host's roles.
ZK_PORT_KEYS = ("client", "peer", "election", "admin")  # type: Tuple[str, ...]
ZK_DISTINCT_PORTS = ZK_PORT_KEYS[:3]


def check_zk_ports_differ(ports, label):
    # type: (Mapping[str, Any], str) -> None
    """ZooKeeper's client, peer and election ports are three ports, not one port twice."""
    if len(set(ports[key] for key in ZK_DISTINCT_PORTS)) != len(ZK_DISTINCT_PORTS):
        raise Invalid(
            label,
            "ZooKeeper's client, peer and election ports must differ: %s" % show(dict(ports)),
            "change one of them",
        )


def zk_serving_modes(members):
    # type: (int) -> Tuple[str, ...]
    """The `srvr` Modes of a serving member of an ensemble of `members` servers, the leading
    one first: a leader and its followers, or a single server on its own (standalone). A
    member answers no Mode while it does not serve (no quorum, or an election)."""
    return ("leader", "follower") if members > 1 else ("standalone",)


def zk_majority(members):
    # type: (int) -> int
    """How many members of an ensemble of `members` servers make a quorum."""
    return members // 2 + 1


def zk_quorum(modes):
    # type: (Sequence[Tuple[str, Optional[str]]]) -> Dict[str, Any]
    """What the `srvr` Modes of every member, (host, mode) in id order, say of the ensemble:
    the members that serve, those that lead, how many must serve (a majority) and whether
    that many do."""
    serving_modes = zk_serving_modes(len(modes))
    serving = [host for host, mode in modes if mode in serving_modes]
    needed = zk_majority(len(modes))
    return {
        "serving": serving,
        "leaders": [host for host, mode in modes if mode == serving_modes[0]],
        "needed": needed,
        "quorum": len(serving) >= needed,
    }


# --- the installer's flags ---

INIT_MODES = ("auto", "systemd", "none")  # type: Tuple[str, ...]
TIMEOUT_RANGE = (1, SECONDS_RANGE[1])
PEER_TIMEOUT_RANGE = SECONDS_RANGE  # 0: report what is missing and do not wait
# --peer-timeout's default, and `stormctl rollback`'s wait for its ensemble.
DEFAULT_PEER_TIMEOUT = 300
FILE_ARG_MAX = 4096


def check_init(value, label):
    # type: (Any, str) -> str
    text = _string(value, label, " or ".join(INIT_MODES), 16)
    if text not in INIT_MODES:
        raise Invalid(label, "expected %s, found %s" % (", ".join(INIT_MODES), show(text)))
    return text


def check_file_arg(value, label):
    # type: (Any, str) -> str
    """A file the operator names (read, never written into a config): any path without
    control characters."""
    return _string(value, label, "a file name", FILE_ARG_MAX)


# flag -> rule(text, label) for every installer flag that takes a value; what each returns is
# what the installer uses (lists, ints, (address, port) for --supervisord-ui-bind with None for
# no port).
FLAG_RULES = {
    "--role": parse_roles,
    "--prefix": normal_prefix,
    "--user": check_user,
    "--zk-servers": parse_host_list,
    "--zk-id": lambda text, label: parse_int(text, label, ZK_ID_RANGE),
    "--nimbus-host": parse_host_list,
    "--supervisord-ui-bind": parse_bind,
    "--web-password-file": check_file_arg,
    "--init": check_init,
    "--python": check_path,
    "--launcher-python": check_path,
    "--timeout": lambda text, label: parse_int(text, label, TIMEOUT_RANGE),
    "--peer-timeout": lambda text, label: parse_int(text, label, PEER_TIMEOUT_RANGE),
    "--host": check_host_name,
    "--signer-key": check_file_arg,
    "--archive": check_file_arg,
}  # type: Dict[str, Any]


def check_flag(flag, text):
    # type: (str, Any) -> Any
    """The value of one installer flag, checked and converted; Invalid names the flag."""
    return FLAG_RULES[flag](text, flag)


# --- generated files ---


def check_generated(name, text):
    # type: (str, str) -> str
    """A rendered file: no control character but the newline ending each line. The last guard
    before a file is written; the rules above are meant to make it unreachable."""
    for number, line in enumerate(text.split("\n"), start=1):
        control = _CONTROL.search(line)
        if control:
            raise Invalid(
                name,
                "line %d has a control character (%s); a value let it through"
                % (number, show(control.group())[1:-1]),
                "report this as a bug",
            )
    return text
