"""supervisord.conf: one [program:x] per role, in start order, with its command, environment
and stop policy, filled into templates/supervisord.conf.in; and the file read back (parse_conf)
as the plan, the installer, --check and rollback compare it.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, division, print_function, unicode_literals

import io

from ..contract.valuecheck import _component, _fact
from .generated import _describe, _header, _template

try:  # Python 3
    from configparser import RawConfigParser
except ImportError:  # Python 2
    from ConfigParser import RawConfigParser  # type: ignore[no-redef,import-not-found]

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union  # noqa: F401

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

# supervisord's [inet_http_server] port unless the operator picks another
# (--supervisord-ui-bind).
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
            ("ZOO_LOG_DIR", "%s/logs/zookeeper" % prefix),
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
    # type: (Mapping[str, Any]) -> List[Tuple[str, str, int]]
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


# --- read back ---


def parse_conf(data):
    # type: (Union[str, bytes]) -> Dict[str, Dict[str, str]]
    """{section: {key: value}} of an ini file (supervisord.conf), interpolation off."""
    parser = RawConfigParser()
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if hasattr(parser, "read_string"):
        parser.read_string(text)
    else:  # Python 2
        parser.readfp(io.StringIO(text))
    return dict((s, dict(parser.items(s))) for s in parser.sections())


def program_names(conf):
    # type: (Dict[str, Dict[str, str]]) -> Set[str]
    return set(k.split(":", 1)[1] for k in conf if k.startswith("program:"))


def program_changes(old, new):
    # type: (Dict[str, Dict[str, str]], Dict[str, Dict[str, str]]) -> Tuple[List[str], List[str], List[str]]
    """(added, changed, removed) program names between two parsed supervisord.conf files,
    as supervisord's reloadConfig reports them."""
    before, after = program_names(old), program_names(new)
    changed = [n for n in after & before if old["program:" + n] != new["program:" + n]]
    return sorted(after - before), sorted(changed), sorted(before - after)


def global_sections(conf):
    # type: (Dict[str, Dict[str, str]]) -> Dict[str, Dict[str, str]]
    return dict((k, v) for k, v in conf.items() if not k.startswith("program:"))


def program_order(conf):
    # type: (Dict[str, Dict[str, str]]) -> List[str]
    """The programs of a parsed supervisord.conf in start order (priority, then name)."""
    found = [
        (int(v.get("priority", 999)), k.split(":", 1)[1])
        for k, v in conf.items()
        if k.startswith("program:")
    ]
    return [name for _, name in sorted(found)]
