"""The values configs.render takes (docs/explanation/installer-internals.md, "Values"): their
keys, their check by contract.py's and extras.py's rules, and the manifest facts the renderers read.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, division, print_function, unicode_literals

import re

from . import contract, extras

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Mapping, NoReturn, Optional, Tuple  # noqa: F401

STORM_ROLES = contract.STORM_ROLES
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
ZK_PORT_KEYS = contract.ZK_PORT_KEYS
HEAP_KEYS = contract.HEAP_KEYS
SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}\Z")


# --- values ---


def _label(key):
    # type: (str) -> str
    return "values['%s']" % key


def _fail(key, message):
    # type: (str, str) -> NoReturn
    raise ValueError("%s: %s" % (_label(key), message))


def validate_values(values):
    # type: (Any) -> None
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
    for key in ZK_PORT_KEYS:
        if key in contract.ZK_DISTINCT_PORTS or zk_ports[key] is not None:
            contract.check_port(zk_ports[key], _label("zk_ports"))
    contract.check_zk_ports_differ(zk_ports, _label("zk_ports"))

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
