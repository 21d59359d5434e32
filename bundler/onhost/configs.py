"""Values + bundle facts -> every config file of a Storm node.

    render(manifest, values) -> [(relpath, text, mode), ...]    relpath under PREFIX, '/'-separated
    validate_values(values)                                      ValueError naming the bad key

    python configs.py --manifest bundle.json --values values.json --out DIR

`manifest` is the parsed bundle.json: per-version facts come from
manifest["components"]["storm"|"zookeeper"]["facts"] (recipes/*.toml). `values` has exactly the
keys of the table in docs/installer.md; nothing here looks at the host, so the same inputs give
the same bytes on every Python from 2.7 to 3.13.

Files with a fixed shape (supervisord.conf's global sections, stormctl, the systemd unit) are
string.Template skeletons in templates/, so that what lands on the host is readable in one
place. zoo.cfg, storm.yaml and the [program:x] sections are built from ordered key/value lists
instead: their keys vary with the release and the roles, and one list per file is where the
"only keys this release knows" rule is kept and tested.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, division, print_function, unicode_literals

import argparse
import io
import json
import os
import re
import string
import sys
import tempfile

try:
    from . import contract, extras
except (ImportError, ValueError):  # loaded from its folder (`python configs.py`, some tests)
    import contract  # type: ignore[no-redef,import-not-found]
    import extras  # type: ignore[no-redef,import-not-found]

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Mapping, Optional, Tuple  # noqa: F401

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

ROLES = contract.ROLES
STORM_ROLES = contract.STORM_ROLES

# supervisord program name per role, in start order (supervisord starts lower priorities first).
PROGRAMS = (
    ("zookeeper", "zookeeper", 100),
    ("nimbus", "storm-nimbus", 200),
    ("supervisor", "storm-supervisor", 300),
    ("drpc", "storm-drpc", 400),
    ("ui", "storm-ui", 500),
    ("logviewer", "storm-logviewer", 600),
)
PROGRAM_NAMES = dict((role, name) for role, name, _ in PROGRAMS)

# supervisord's [inet_http_server] port unless the operator picks another (--ui-bind).
SUPERVISORD_HTTP_PORT = 9001
# The user name of supervisord's [inet_http_server]; the password is the operator's.
WEB_USERNAME = "admin"

# Stop policy per role: (stopwaitsecs, stopasgroup/killasgroup). The Storm supervisor's worker
# JVMs are its children in its process group: with stopasgroup they stop with it, so stopping or
# restarting storm-supervisor stops this host's workers too (their topologies are rescheduled)
# instead of leaving orphans that keep their slots' ports. logviewer likewise, as puppet-storm
# does. Every other daemon exec()s into a single JVM, so a group signal is not needed.
STOP_POLICY = {
    "zookeeper": (30, False),
    "nimbus": (30, False),
    "supervisor": (60, True),
    "drpc": (30, False),
    "ui": (15, False),
    "logviewer": (15, True),
}
# The Storm launcher runs short JVMs to read its config before exec()ing the daemon: 10s before
# a start counts; ZooKeeper's zkServer.sh execs java at once.
STARTSECS = {"zookeeper": 5}
STARTSECS_STORM = 10
# Finite, so that a daemon that cannot start ends FATAL (which the health check reports) instead
# of retrying for ever; ten backoffs (1+2+...+10 s) ride out a peer that is still starting.
STARTRETRIES = 10

VALUE_KEYS = (
    "prefix",
    "user",
    "roles",
    "host",
    "zk_servers",
    "zk_ids",
    "zk_id",
    "zk_ports",
    "nimbus_hosts",
    "http_bind",
    "http_port",
    "web_password_sha1",
    "java_home",
    "java_major",
    "memory_mb",
    "python",
    "launcher_python",
    "site_dir",
    "slots",
    "heaps",
)
# Optional keys, empty when absent: the operator's extra keys and JVM options (extras.py).
OPTIONAL_VALUE_KEYS = ("storm_options", "zk_options", "childopts_extra")
ZK_PORT_KEYS = ("client", "peer", "election", "admin")
HEAP_KEYS = contract.HEAP_KEYS
SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}\Z")


# --- values ---


def _label(key):
    return "values['%s']" % key


def _fail(key, message):
    raise ValueError("%s: %s" % (_label(key), message))


def validate_values(values):
    """Raise ValueError with a one-line message naming the first bad key of `values`. The rules
    are contract.py's, so a value the inventory or the installer accepted passes here too."""
    if not isinstance(values, dict):
        raise ValueError("values: expected a dict, got %s" % type(values).__name__)
    missing = [k for k in VALUE_KEYS if k not in values]
    if missing:
        _fail(missing[0], "missing (values need exactly: %s)" % ", ".join(VALUE_KEYS))
    unknown = sorted(k for k in values if k not in VALUE_KEYS + OPTIONAL_VALUE_KEYS)
    if unknown:
        _fail(
            unknown[0],
            "unknown key (values need exactly: %s; optional: %s)"
            % (", ".join(VALUE_KEYS), ", ".join(OPTIONAL_VALUE_KEYS)),
        )

    contract.check_prefix(values["prefix"], _label("prefix"))
    for key in ("java_home", "python", "launcher_python", "site_dir"):
        contract.check_path(values[key], _label(key))
    if values["user"] is not None:
        contract.check_user(values["user"], _label("user"))
    roles = contract.check_roles(values["roles"], _label("roles"))

    contract.check_address(values["host"], _label("host"))
    zk_servers = contract.check_host_list(values["zk_servers"], _label("zk_servers"))
    zk_ids = values["zk_ids"]
    if not isinstance(zk_ids, list) or len(zk_ids) != len(zk_servers):
        _fail("zk_ids", "expected one id per zk_servers entry, got %s" % contract.show(zk_ids))
    for zk_id in zk_ids:
        contract.check_zk_id(zk_id, _label("zk_ids"))
    if len(set(zk_ids)) != len(zk_ids):
        _fail("zk_ids", "lists an id twice: %r" % (zk_ids,))
    if "zookeeper" in roles:
        if not contract.is_int(values["zk_id"]) or values["zk_id"] not in zk_ids:
            _fail(
                "zk_id",
                "expected one of zk_ids %r, got %s" % (zk_ids, contract.show(values["zk_id"])),
            )
    elif values["zk_id"] is not None:
        _fail("zk_id", "must be None when this host does not run ZooKeeper")
    zk_ports = values["zk_ports"]
    if not isinstance(zk_ports, dict) or sorted(zk_ports) != sorted(ZK_PORT_KEYS):
        _fail(
            "zk_ports",
            "expected a dict with keys %s, got %s"
            % (", ".join(ZK_PORT_KEYS), contract.show(zk_ports)),
        )
    for key in ZK_PORT_KEYS[:3]:
        contract.check_port(zk_ports[key], _label("zk_ports"))
    if zk_ports["admin"] is not None:
        contract.check_port(zk_ports["admin"], _label("zk_ports"))
    if len(set(zk_ports[k] for k in ZK_PORT_KEYS[:3])) != 3:
        _fail("zk_ports", "client, peer and election ports must differ, got %r" % (zk_ports,))

    storm_roles = [r for r in roles if r in STORM_ROLES]
    contract.check_host_list(
        values["nimbus_hosts"], _label("nimbus_hosts"), allow_empty=not storm_roles
    )

    contract.check_bind_address(values["http_bind"], _label("http_bind"))
    contract.check_port(values["http_port"], _label("http_port"))

    sha1 = values["web_password_sha1"]
    if not isinstance(sha1, contract.STRING_TYPES) or not SHA1_HEX.match(sha1):
        _fail("web_password_sha1", "expected 40 hex digits (sha1 of the password)")

    contract.check_int(values["java_major"], _label("java_major"), contract.JAVA_MAJOR_RANGE)
    contract.check_int(values["memory_mb"], _label("memory_mb"), contract.MEMORY_MB_RANGE)
    contract.check_slots(values["slots"], _label("slots"))
    contract.check_heaps(values["heaps"], _label("heaps"))
    extras.check_storm_options(values.get("storm_options"), _label("storm_options"))
    extras.check_zk_options(values.get("zk_options"), _label("zk_options"))
    extras.check_childopts_extra(values.get("childopts_extra"), _label("childopts_extra"))


# --- manifest ---


def _component(manifest, project):
    """(version, facts) of one component of the manifest."""
    components = manifest.get("components") if isinstance(manifest, dict) else None
    component = components.get(project) if isinstance(components, dict) else None
    if not isinstance(component, dict) or "version" not in component or "facts" not in component:
        raise ValueError("manifest: components.%s needs a version and facts" % project)
    return component["version"], component["facts"]


def _fact(facts, project, key):
    if key not in facts:
        raise ValueError("manifest: components.%s.facts has no '%s'" % (project, key))
    return facts[key]


# --- heaps ---


def _share(memory_mb, divisor, floor, cap):
    """memory_mb / divisor rounded down to 64 MB, kept within [floor, cap]."""
    mb = (memory_mb // divisor) // 64 * 64
    return max(floor, min(cap, mb))


def heaps(memory_mb, slots):
    """-Xmx in MB per daemon, from the host's memory (M) and its number of worker slots (S).

    nimbus     M/8        floor 256, cap 1024 (the release default)
    ui         M/16       floor 128, cap 768  (the release default)
    supervisor M/16       floor 128, cap 256  (the release default)
    worker     M/2/S      floor 256, cap 2048 (half the host for the workers, shared by slots)

    Each share is rounded down to a multiple of 64 MB. The caps keep the daemons at Storm's own
    defaults on big hosts; the floors keep them startable on small ones. An 8 GB host with 4
    slots gets nimbus 1024, ui 512, supervisor 256 and 1024 per worker; a 2 GB host with 4 slots
    nimbus 256, ui 128, supervisor 128 and 256 per worker.
    """
    return {
        "nimbus": _share(memory_mb, 8, 256, 1024),
        "ui": _share(memory_mb, 16, 128, 768),
        "supervisor": _share(memory_mb, 16, 128, 256),
        "worker": _share(memory_mb, 2 * slots, 256, 2048),
    }


# --- worker.childopts ---

# Java 8 form: the 1.0 to 2.4 defaults.yaml value (rotated GC log and heap dump in the worker's
# artifacts/ folder, which the Storm supervisor creates before it launches the worker).
GC_JAVA8 = (
    "-XX:+PrintGCDetails -Xloggc:artifacts/gc.log -XX:+PrintGCDateStamps "
    "-XX:+PrintGCTimeStamps -XX:+UseGCLogFileRotation -XX:NumberOfGCLogFiles=10 "
    "-XX:GCLogFileSize=1M"
)
# Java 9+ unified logging, same rotation. PrintGCDateStamps, PrintGCTimeStamps,
# UseGCLogFileRotation, NumberOfGCLogFiles and GCLogFileSize are unrecognized options there and
# the JVM refuses to start ("Unrecognized VM option 'PrintGCDateStamps'").
GC_JAVA9 = "-Xlog:gc*:file=artifacts/gc.log:time,uptime:filecount=10,filesize=1M"
HEAP_DUMP = "-XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=artifacts/heapdump"


def _heap_placeholder(storm_facts):
    """Whether this release sizes workers with worker.heap.memory.mb through %HEAP-MEM%."""
    return bool(_fact(storm_facts, "storm", "worker_heap_placeholder"))


def worker_childopts(storm_facts, java_major, worker_mb):
    """A worker.childopts that starts on this Java, with Storm's placeholders left literal."""
    if not _heap_placeholder(storm_facts):
        # 0.9/0.10: the default is just -Xmx768m and there is no per-worker artifacts folder.
        return "-Xmx%dm" % worker_mb
    # %HEAP-MEM% is replaced by Storm with worker.heap.memory.mb (or the topology's own setting).
    # Releases marked worker_childopts_java9_safe (2.5+) add -XX:+IgnoreUnrecognizedVMOptions to
    # their Java 8 flags; writing the flags for the Java at hand works for every release.
    gc = GC_JAVA9 if java_major >= 9 else GC_JAVA8
    return "-Xmx%HEAP-MEM%m " + gc + " " + HEAP_DUMP


# --- file formats ---


def _yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if contract.is_int(value):
        return "%d" % value
    if isinstance(value, float):
        # repr is the shortest exact form on 2.7 and 3.x. YAML 1.1 (Storm's SnakeYAML) needs a
        # dot in the mantissa of 1e-05, or it reads a string.
        mantissa, _, exponent = repr(value).partition("e")
        if "." not in mantissa:
            mantissa += ".0"
        return mantissa + ("e" + exponent if exponent else "")
    # A JSON string (ASCII, double quotes, backslash escapes) is a valid YAML double-quoted scalar,
    # except that YAML's \u is one 16-bit code: a character beyond U+FFFF, which JSON writes as
    # a surrogate pair, becomes YAML's 32-bit \U escape.
    return _SURROGATES.sub(_astral, json.dumps(value))


# A pair's first backslash is not the second half of an escaped backslash (an even run before).
_SURROGATES = re.compile(r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def _astral(match):
    high, low = int(match.group(2), 16), int(match.group(3), 16)
    code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    return match.group(1) + "\\U%08x" % code


def _yaml(entries):
    """Entries are (comment or None, key, value) with str, int or list values."""
    lines = []  # type: List[str]
    for comment, key, value in entries:
        if comment:
            lines.extend("# " + line for line in comment.split("\n"))
        if value == []:
            lines.append("%s: []" % key)  # `key:` alone would read as null
        elif isinstance(value, list):
            lines.append("%s:" % key)
            lines.extend("  - %s" % _yaml_scalar(item) for item in value)
        else:
            lines.append("%s: %s" % (key, _yaml_scalar(value)))
    return "\n".join(lines) + "\n"


def _template(name, **fields):
    with io.open(os.path.join(TEMPLATES, name), encoding="utf-8") as fh:
        return string.Template(fh.read()).substitute(**fields)


def _describe(manifest, roles):
    parts = []
    storm_version, _ = _component(manifest, "storm")
    zk_version, _ = _component(manifest, "zookeeper")
    if any(r in STORM_ROLES for r in roles):
        parts.append("Apache Storm %s" % storm_version)
    if "zookeeper" in roles:
        parts.append("ZooKeeper %s" % zk_version)
    return " and ".join(parts)


def _bundle_name(manifest):
    name = manifest.get("name") if isinstance(manifest, dict) else None
    return "bundle %s" % name if name else "its bundle"


def _header(mark, title, manifest):
    """The opening comment of a generated file: what it is, who wrote it, what a re-run does."""
    return [
        "%s %s" % (mark, title),
        "%s Written by install.sh from %s. A re-run of install.sh that changes"
        % (mark, _bundle_name(manifest)),
        "%s this file keeps the previous one as a backup." % mark,
    ]


# --- ZooKeeper ports ---


def default_zk_ports(zk_facts):
    # type: (Dict[str, Any]) -> Dict[str, Any]
    """values['zk_ports'] when nothing overrides the release's ports."""
    return {
        "client": _fact(zk_facts, "zookeeper", "client_port"),
        "peer": _fact(zk_facts, "zookeeper", "peer_port"),
        "election": _fact(zk_facts, "zookeeper", "election_port"),
        "admin": None,
    }


def zk_admin_port(zk_facts, roles, zk_ports):
    # type: (Dict[str, Any], List[str], Dict[str, Any]) -> Optional[int]
    """The port ZooKeeper's AdminServer binds on a host with these roles, None when the release
    has no AdminServer. Unless set, it moves off 8080 where the Storm UI runs."""
    if not _fact(zk_facts, "zookeeper", "admin_server"):
        return None
    if zk_ports.get("admin") is not None:
        port = zk_ports["admin"]  # type: int
    elif "ui" in roles:
        port = _fact(zk_facts, "zookeeper", "admin_port_beside_ui")
    else:
        port = _fact(zk_facts, "zookeeper", "admin_port")
    return port


# --- zoo.cfg and myid ---


def render_zoo_cfg(manifest, values):
    version, facts = _component(manifest, "zookeeper")
    prefix = values["prefix"]
    ports = values["zk_ports"]
    client_port = ports["client"]
    lines = _header("#", "zoo.cfg for ZooKeeper %s on %s" % (version, values["host"]), manifest)
    options = extras.check_zk_options(values.get("zk_options"), _label("zk_options"))
    # The operator's value replaces the renderer's default in place: a key is never written twice.
    own = dict(
        (key, options.pop(key, default))
        for key, default in (
            ("tickTime", "2000"),
            ("initLimit", "10"),
            ("syncLimit", "5"),
            ("autopurge.snapRetainCount", "3"),
            ("autopurge.purgeInterval", "24"),
        )
    )
    lines += [
        "tickTime=%s" % own["tickTime"],
        "initLimit=%s" % own["initLimit"],
        "syncLimit=%s" % own["syncLimit"],
        "dataDir=%s/data/zookeeper" % prefix,
        "clientPort=%d" % client_port,
        "# Keep the last %s snapshots and their logs, purged every %s hours: dataDir never fills."
        % (own["autopurge.snapRetainCount"], own["autopurge.purgeInterval"]),
        "autopurge.snapRetainCount=%s" % own["autopurge.snapRetainCount"],
        "autopurge.purgeInterval=%s" % own["autopurge.purgeInterval"],
    ]
    if _fact(facts, "zookeeper", "four_letter_whitelist"):
        lines.append("# The four-letter words install.sh's health checks use.")
        lines.append("4lw.commands.whitelist=ruok,srvr,mntr")
    admin = zk_admin_port(facts, values["roles"], ports)
    if admin is not None and ports["admin"] is not None:
        lines.append("# The AdminServer's port, from the cluster inventory.")
        lines.append("admin.serverPort=%d" % admin)
    elif admin is not None and "ui" in values["roles"]:
        lines.append("# The AdminServer's default port, 8080, is the Storm UI's on this host.")
        lines.append("admin.serverPort=%d" % admin)
    servers = values["zk_servers"]
    if len(servers) > 1:
        # Every entry, this host's own included, carries the address its peers dial.
        form = _fact(facts, "zookeeper", "server_line")
        for index, host in enumerate(servers):
            lines.append(
                form.format(
                    id=values["zk_ids"][index],
                    host=host,
                    peer_port=ports["peer"],
                    election_port=ports["election"],
                    client_port=client_port,
                )
            )
    else:
        lines.append("# One server: standalone mode, no server.N lines.")
    if options:
        lines.append("# Extra keys from the cluster inventory or install.sh options.")
        lines.extend("%s=%s" % item for item in sorted(options.items()))
    return "\n".join(lines) + "\n"


# --- storm.yaml ---


def _heaps_comment(values):
    sized = "sized from this host's %d MB of memory and %d worker slots" % (
        values["memory_mb"],
        len(values["slots"]),
    )
    fixed = [k for k in HEAP_KEYS if k in values["heaps"]]
    if not fixed:
        return "Heaps %s." % sized
    rest = [k for k in HEAP_KEYS if k not in values["heaps"]]
    if not rest:
        return "Heaps from the cluster inventory."
    return "Heaps of %s from the cluster inventory; %s %s." % (
        ", ".join(fixed),
        ", ".join(rest),
        sized,
    )


def _childopts(values, daemon, heap_opts):
    """The heap options the renderer sets, then the operator's extra JVM options."""
    extra = (values.get("childopts_extra") or {}).get(daemon)
    return heap_opts + " " + " ".join(extra.split()) if extra else heap_opts


def render_storm_yaml(manifest, values):
    version, facts = _component(manifest, "storm")
    heap = heaps(values["memory_mb"], len(values["slots"]))
    heap.update(values["heaps"])
    nimbus_key = _fact(facts, "storm", "nimbus_key")
    nimbus_hosts = values["nimbus_hosts"]
    if nimbus_key == "nimbus.host":
        if len(nimbus_hosts) != 1:
            raise ValueError(
                "values['nimbus_hosts']: Storm %s has a single Nimbus (nimbus.host), got %r"
                % (version, nimbus_hosts)
            )
        nimbus_entry = (None, nimbus_key, nimbus_hosts[0])
    else:
        nimbus_entry = (None, nimbus_key, list(nimbus_hosts))
    entries = [
        (None, "storm.zookeeper.servers", list(values["zk_servers"])),
        (None, "storm.zookeeper.port", values["zk_ports"]["client"]),
        nimbus_entry,
        (None, "storm.local.dir", "%s/data/storm" % values["prefix"]),
        (None, "supervisor.slots.ports", list(values["slots"])),
        (
            _heaps_comment(values),
            "nimbus.childopts",
            _childopts(values, "nimbus", "-Xmx%dm" % heap["nimbus"]),
        ),
        (None, "ui.childopts", _childopts(values, "ui", "-Xmx%dm" % heap["ui"])),
        (
            None,
            "supervisor.childopts",
            _childopts(values, "supervisor", "-Xmx%dm" % heap["supervisor"]),
        ),
    ]
    childopts = _childopts(
        values, "worker", worker_childopts(facts, values["java_major"], heap["worker"])
    )
    note = None
    if _heap_placeholder(facts):
        entries.append((None, "worker.heap.memory.mb", heap["worker"]))
        note = (
            "Storm replaces %%HEAP-MEM%% with worker.heap.memory.mb. GC log and heap dump go to\n"
            "the worker's artifacts/ folder, with flags Java %d accepts." % values["java_major"]
        )
    entries.append((note, "worker.childopts", childopts))
    comment = "Extra keys from the cluster inventory or install.sh options."  # type: Optional[str]
    options = extras.check_storm_options(values.get("storm_options"), _label("storm_options"))
    for key, value in sorted(options.items()):
        entries.append((comment, key, value))
        comment = None
    header = _header(
        "#", "storm.yaml for Apache Storm %s on %s" % (version, values["host"]), manifest
    )
    return "\n".join(header) + "\n" + _yaml(entries)


# --- supervisord.conf ---


def _storm_command(manifest, values, role):
    _, facts = _component(manifest, "storm")
    launcher = _fact(facts, "storm", "launcher")
    daemons = _fact(facts, "storm", "daemons")
    if role not in daemons:
        raise ValueError(
            "values['roles']: this Storm release has no '%s' daemon (it has %s)"
            % (role, ", ".join(daemons))
        )
    # Through an explicit interpreter: 0.9.x's bin/storm says #!/usr/bin/python, which most
    # current hosts lack, and later releases' bin/storm is a bash wrapper around bin/storm.py.
    return "%s %s/storm/%s %s" % (values["launcher_python"], values["prefix"], launcher, role)


def _zookeeper_command(manifest, values):
    _, facts = _component(manifest, "zookeeper")
    launcher = _fact(facts, "zookeeper", "launcher")
    args = _fact(facts, "zookeeper", "launcher_args")
    return " ".join(["%s/zookeeper/%s" % (values["prefix"], launcher)] + list(args))


def _environment(pairs):
    return ",".join('%s="%s"' % pair for pair in pairs)


def _program(manifest, values, role, name, priority):
    prefix = values["prefix"]
    if role == "zookeeper":
        command = _zookeeper_command(manifest, values)
        directory = "%s/data/zookeeper" % prefix
        environment = [
            ("JAVA_HOME", values["java_home"]),
            ("ZOOCFGDIR", "%s/etc/zookeeper" % prefix),
            ("ZOO_LOG_DIR", "%s/logs" % prefix),
        ]
        comments = ["zkServer.sh start-foreground execs java: supervisord signals the JVM."]
    else:
        command = _storm_command(manifest, values, role)
        directory = "%s/data/storm" % prefix
        environment = [
            ("JAVA_HOME", values["java_home"]),
            ("STORM_CONF_DIR", "%s/etc/storm" % prefix),
            # The launcher reads ~/.storm/storm.yaml when it exists: point ~ at the data folder.
            ("HOME", "%s/data/storm" % prefix),
            # Replaces supervisord's own PYTHONPATH (its site/, maybe for another Python) with
            # the launcher's folder, already first on its path. Python 2 reads "" as the cwd.
            ("PYTHONPATH", "%s/storm/bin" % prefix),
        ]
        comments = ["The launcher execs java: supervisord signals the daemon's JVM."]
    stopwaitsecs, group = STOP_POLICY[role]
    if role == "supervisor":
        comments.append(
            "Stopped as a group: this host's worker JVMs stop with it rather than linger "
            "as orphans."
        )
    elif role == "logviewer":
        comments.append("Stopped as a group, with anything it started.")
    keys = [
        ("command", command),
        ("directory", directory),
        ("environment", _environment(environment)),
    ]
    if values["user"] is not None:
        keys.append(("user", values["user"]))
    keys += [
        ("priority", "%d" % priority),
        ("autostart", "true"),
        ("autorestart", "true"),
        ("startsecs", "%d" % STARTSECS.get(role, STARTSECS_STORM)),
        ("startretries", "%d" % STARTRETRIES),
        ("stopsignal", "TERM"),
        ("stopwaitsecs", "%d" % stopwaitsecs),
        ("stopasgroup", "true" if group else "false"),
        ("killasgroup", "true" if group else "false"),
        ("redirect_stderr", "true"),
        ("stdout_logfile", "%s/logs/%s.log" % (prefix, name)),
        ("stdout_logfile_maxbytes", "20MB"),
        ("stdout_logfile_backups", "10"),
    ]
    lines = ["[program:%s]" % name]
    lines.extend("; " + c for c in comments)
    lines.extend("%s=%s" % kv for kv in keys)
    return "\n".join(lines)


def programs(values):
    """(role, program name, priority) for this host's roles, in start order."""
    return [p for p in PROGRAMS if p[0] in values["roles"]]


def render_supervisord_conf(manifest, values):
    # Blank line before each section; the template ends the file with a newline.
    sections = "".join("\n\n" + _program(manifest, values, *p) for p in programs(values))
    title = "supervisord.conf for %s on %s" % (_describe(manifest, values["roles"]), values["host"])
    return _template(
        "supervisord.conf.in",
        header="\n".join(_header(";", title, manifest)),
        prefix=values["prefix"],
        http_bind=values["http_bind"],
        http_port="%d" % values["http_port"],
        web_username=WEB_USERNAME,
        web_password_sha1=values["web_password_sha1"].lower(),
        programs=sections,
    )


def render_stormctl(manifest, values):
    title = "stormctl for the Storm node under %s" % values["prefix"]
    return _template(
        "stormctl.in",
        header="\n".join(_header("#", title, manifest)),
        program_names=" ".join(name for _, name, _ in programs(values)),
        prefix=values["prefix"],
        python=values["python"],
        site_dir=values["site_dir"],
    )


def render_systemd_unit(manifest, values):
    if values["user"] is None:
        # A user unit (systemctl --user): it cannot raise limits past the user's hard limit.
        wanted_by = "default.target"
        limits = "# Open-file limit: the user manager's own."
    else:
        wanted_by = "multi-user.target"
        limits = "# ZooKeeper and Storm keep many sockets and files open.\nLimitNOFILE=65536"
    stop_total = sum(STOP_POLICY[role][0] for role, _, _ in programs(values))
    what = _describe(manifest, values["roles"])
    title = "storm-supervisord.service: supervisord for %s" % what
    return _template(
        "storm-supervisord.service.in",
        header="\n".join(_header("#", title, manifest)),
        what=what,
        prefix=values["prefix"],
        python=values["python"],
        site_dir=values["site_dir"],
        timeout_stop_sec="%d" % (stop_total + 30),
        limits=limits,
        wanted_by=wanted_by,
    )


# --- all files ---


def render(manifest, values):
    # type: (Dict[str, Any], Mapping[str, Any]) -> List[Tuple[str, str, int]]
    """Every config file for this host: a list of (path relative to PREFIX, text, mode)."""
    validate_values(values)
    roles = values["roles"]
    files = []
    if "zookeeper" in roles:
        files.append(("etc/zookeeper/zoo.cfg", render_zoo_cfg(manifest, values), 0o644))
        files.append(("data/zookeeper/myid", "%d\n" % values["zk_id"], 0o644))
    if any(r in STORM_ROLES for r in roles):
        files.append(("etc/storm/storm.yaml", render_storm_yaml(manifest, values), 0o644))
    files.append(("etc/supervisord.conf", render_supervisord_conf(manifest, values), 0o600))
    files.append(("bin/stormctl", render_stormctl(manifest, values), 0o755))
    files.append(
        ("etc/systemd/storm-supervisord.service", render_systemd_unit(manifest, values), 0o644)
    )
    for relpath, text, _ in files:
        contract.check_generated(relpath, text)
    return files


def write_files(out_dir, files):
    # type: (str, List[Tuple[str, str, int]]) -> List[str]
    """Write each file atomically (temp file in the same folder, then rename), mode set first."""
    written = []
    for relpath, text, mode in files:
        path = os.path.join(out_dir, *relpath.split("/"))
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=folder)
        try:
            # Mode before content: a secret is never readable by others, not even briefly.
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        written.append(relpath)
    return written


def _load_json(path, what):
    # Raised after the except clauses: Python 2 has no `raise ... from`.
    try:
        with io.open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (IOError, OSError) as exc:
        problem = exc.strerror or str(exc)
    except ValueError as exc:
        problem = "not valid JSON (%s)" % exc
    raise ValueError("%s %s: %s" % (what, path, problem))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="configs.py", description="Render a Storm node's config files from bundle facts."
    )
    parser.add_argument("--manifest", required=True, help="the bundle's bundle.json")
    parser.add_argument("--values", required=True, help="a JSON file with the values")
    parser.add_argument("--out", required=True, help="folder to write into (the prefix)")
    args = parser.parse_args(argv)
    try:
        manifest = _load_json(args.manifest, "manifest")
        values = _load_json(args.values, "values")
        files = render(manifest, values)
    except ValueError as exc:
        sys.stderr.write("configs.py: %s\n" % exc)
        return 2
    for relpath in write_files(args.out, files):
        print(relpath)
    return 0


if __name__ == "__main__":
    sys.exit(main())
