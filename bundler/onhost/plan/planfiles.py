"""The files a Plan writes: the values configs.render is given, every rendered file, the web
password and ZooKeeper's logging config beside zoo.cfg."""

from __future__ import absolute_import, print_function

import hashlib
import os
import re

from ..apply.supervisord import parse_conf
from ..errors import UsageError
from ..host.system import to_bytes
from ..render import configs

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import List, Optional, Set, Tuple  # noqa: F401

    from .plan import Plan, Values  # noqa: F401

# Flags behind the values configs.validate_values names, for usage errors.
FLAG_OF = {
    "prefix": "--prefix",
    "user": "--user",
    "zk_servers": "--zk-servers",
    "zk_id": "--zk-id",
    "nimbus_hosts": "--nimbus-host",
    "http_bind": "--supervisord-ui-bind",
    "http_port": "--supervisord-ui-bind",
    "launcher_python": "--launcher-python",
    "python": "--python",
    "zk_ids": "--zk-servers",
    "storm_options": "--storm-option",
    "zk_options": "--zk-option",
    "childopts_extra": "--childopts",
}


def render(plan):
    # type: (Plan) -> None
    """Every config file, rendered before the first change so that a value configs.py
    refuses stops the run while the host is untouched."""
    plan.password = plan.web_password or plan.stored_password() or plan.ask().new_password()
    sha1 = hashlib.sha1(plan.password.encode("utf-8")).hexdigest()
    plan.values = plan.make_values(sha1)
    refused = None
    try:
        rendered = configs.render(plan.bundle.manifest, plan.values)
    except ValueError as exc:
        refused = str(exc)
    if refused is not None:
        match = re.match(r"values\['(\w+)'\]", refused)
        flag = FLAG_OF.get(match.group(1)) if match else None
        raise UsageError("%s%s" % (flag + ": " if flag else "", refused))
    plan.rendered = [(rel, to_bytes(text), mode) for rel, text, mode in rendered]
    plan.rendered += plan.zookeeper_logging(set(r for r, _, _ in plan.rendered))
    files = dict((rel, data) for rel, data, _ in plan.rendered)
    plan.conf_text = files["etc/supervisord.conf"]
    units = [d for r, d in files.items() if r.startswith("etc/systemd/")]
    plan.unit_text = units[0] if units else None
    conf = parse_conf(plan.conf_text)
    plan.socket = conf["unix_http_server"]["file"]
    plan.pidfile = conf["supervisord"]["pidfile"]
    plan.logfile = conf["supervisord"]["logfile"]
    programs = [
        (int(v.get("priority", 999)), k.split(":", 1)[1])
        for k, v in conf.items()
        if k.startswith("program:")
    ]
    plan.program_order = [name for _, name in sorted(programs)]


def stored_password(plan):
    # type: (Plan) -> Optional[str]
    try:
        data = plan.ask().read(os.path.join(plan.prefix, "etc", "web-password"))
        return data.decode("utf-8").strip("\r\n") or None
    except (IOError, OSError, UnicodeDecodeError):
        return None


def zookeeper_logging(plan, rendered):
    # type: (Plan, Set[str]) -> List[Tuple[str, bytes, int]]
    """The release's own logging config beside zoo.cfg: ZooKeeper's launcher puts
    ZOOCFGDIR first on the classpath, so that is where it is looked for."""
    rel = plan.zk_facts().get("log_config")
    if "zookeeper" not in plan.roles or not rel:
        return []
    dest = "etc/zookeeper/" + rel.rsplit("/", 1)[-1]
    if dest in rendered:
        return []
    data = plan.release_file(plan.bundle.zookeeper, rel, 1 << 20)
    if data is None:
        plan.notes.append(
            "ZooKeeper %s has no %s: its logging stays as the release ships it"
            % (plan.bundle.zookeeper["version"], rel)
        )
        return []
    return [(dest, data, 0o644)]


def make_values(plan, web_password_sha1):
    # type: (Plan, str) -> Values
    return {
        "prefix": plan.prefix,
        "user": plan.user,
        "roles": list(plan.roles),
        "host": plan.host,
        "zk_servers": list(plan.zk_servers),
        "zk_ids": list(plan.zk_ids),
        "zk_id": plan.zk_id,
        "zk_ports": dict(plan.zk_ports),
        "nimbus_hosts": list(plan.nimbus_hosts),
        "http_bind": plan.http_bind,
        "http_port": plan.http_port,
        "web_password_sha1": web_password_sha1,
        "java_home": plan.java_home,
        "java_major": plan.java_major,
        "memory_mb": plan.memory_mb,
        "python": plan.python,
        "launcher_python": plan.launcher_python or plan.python,
        "site_dir": plan.site_dir,
        "slots": list(plan.slots),
        "heaps": dict(plan.heaps),
        "storm_options": dict(plan.extras["storm_options"]),
        "zk_options": dict(plan.extras["zk_options"]),
        "childopts_extra": dict(plan.extras["childopts_extra"]),
    }
