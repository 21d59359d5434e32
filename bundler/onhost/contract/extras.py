"""Operator-supplied configuration: extra storm.yaml keys, extra zoo.cfg keys, extra JVM options.

    check_storm_options(options, label, known=None, allow_unknown=())  -> {key: value}
    check_zk_options(options, label, known=None, allow_unknown=())     -> {key: text}
    check_childopts_extra(options, label)                              -> {daemon: text}

Each raises contract.Invalid with one line naming the key. `known` is the release's key set
(Storm's defaults.yaml, ZooKeeper's documented keys; recipes/ on the build side); None skips
that check (the renderer, which has no key set, still refuses owned keys and unsafe values).
Keys the renderer writes itself are refused with the option that sets them, so one file never
carries a key twice. Values can never change the line structure of a generated file.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, print_function

import difflib
import io
import json
import math
import os
import re

from . import contract

MYPY = False
if MYPY:  # pragma: no cover
    from typing import Any, Dict, Iterable, List, Mapping, Optional  # noqa: F401

# A storm.yaml or zoo.cfg key: what both formats take as a plain key.
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,199}\Z")
VALUE_MAX = 4096

# storm.yaml keys the renderer writes, and what sets each of them instead.
STORM_OWNED = {
    "storm.zookeeper.servers": "the hosts with the zookeeper role",
    "storm.zookeeper.port": "zk_client_port",
    "nimbus.seeds": "the hosts with the nimbus role",
    "nimbus.host": "the hosts with the nimbus role",
    "storm.local.dir": "prefix (it is PREFIX/data/storm)",
    "supervisor.slots.ports": "slots",
    "nimbus.childopts": "heaps.nimbus and childopts_extra.nimbus",
    "ui.childopts": "heaps.ui and childopts_extra.ui",
    "supervisor.childopts": "heaps.supervisor and childopts_extra.supervisor",
    "worker.childopts": "heaps.worker and childopts_extra.worker",
    "worker.heap.memory.mb": "heaps.worker",
    # The daemons' ports: the inventory checks them for clashes and the health checks probe
    # them, both from the release's facts (recipes/storm.toml).
    "nimbus.thrift.port": "the release's facts (recipes/storm.toml); it is not configurable",
    "ui.port": "the release's facts (recipes/storm.toml); it is not configurable",
    "logviewer.port": "the release's facts (recipes/storm.toml); it is not configurable",
    "drpc.port": "the release's facts (recipes/storm.toml); it is not configurable",
}
# zoo.cfg keys the renderer writes and that the operator may not replace.
ZK_OWNED = {
    "dataDir": "prefix (it is PREFIX/data/zookeeper)",
    "clientPort": "zk_client_port",
    "admin.serverPort": "zk_admin_port",
    "4lw.commands.whitelist": "nothing: the installer's health checks need ruok, srvr, mntr",
}
_ZK_OWNED_PATTERN = re.compile(r"server\.[0-9]+\Z")
ZK_SERVER_OWNER = "the hosts with the zookeeper role, zk_id, zk_peer_port and zk_election_port"
# zoo.cfg keys the renderer writes with a default the operator's value replaces.
ZK_REPLACEABLE = (
    "tickTime",
    "initLimit",
    "syncLimit",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
)
CHILDOPTS_DAEMONS = contract.HEAP_KEYS
# The same keys as an install.sh operator sets them: the flag, else the inventory's key.
STORM_OWNED_BY_FLAG = dict(STORM_OWNED)
STORM_OWNED_BY_FLAG.update(
    (key, "an inventory's %s" % owner)
    for key, owner in STORM_OWNED.items()
    if owner in ("zk_client_port", "slots", "heaps.worker")
)
STORM_OWNED_BY_FLAG.update(
    (
        "%s.childopts" % daemon,
        "--childopts %s=OPTS (its heap: an inventory's heaps.%s)" % (daemon, daemon),
    )
    for daemon in CHILDOPTS_DAEMONS
)
STORM_OWNED_BY_FLAG.update(
    {
        "storm.zookeeper.servers": "--zk-servers",
        "nimbus.seeds": "--nimbus-host",
        "nimbus.host": "--nimbus-host",
        "storm.local.dir": "--prefix (it is PREFIX/data/storm)",
    }
)
ZK_OWNED_BY_FLAG = {
    "dataDir": "--prefix (it is PREFIX/data/zookeeper)",
    "clientPort": "an inventory's zk_client_port",
    "admin.serverPort": "an inventory's zk_admin_port",
    "4lw.commands.whitelist": ZK_OWNED["4lw.commands.whitelist"],
}
ZK_SERVER_OWNER_BY_FLAG = "--zk-servers and --zk-id"


def closest(key, known):
    # type: (str, Iterable[str]) -> Optional[str]
    matches = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _table(options, label):
    # type: (Any, str) -> Dict[str, Any]
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise contract.Invalid(
            label, "expected a table of key = value, found %s" % contract.show(options)
        )
    return options


def _check_key(key, label, owned, known, allow_unknown, what):
    # type: (Any, str, Mapping[str, str], Optional[Iterable[str]], Iterable[str], str) -> str
    if not isinstance(key, contract.STRING_TYPES) or not _KEY.match(key):
        raise contract.Invalid(
            label,
            "expected a %s key (a letter, then letters, digits, '.', '_' or '-'), found %s"
            % (what, contract.show(key)),
        )
    if key in owned:
        raise contract.Invalid(
            "%s %s" % (label, key),
            "bundler writes this key itself; it is set by %s" % owned[key],
            _drop_it(label),
        )
    if known is not None and key not in known and key not in allow_unknown:
        near = closest(key, known)
        raise contract.Invalid(
            "%s %s" % (label, key),
            "not a key this release knows%s" % ("; did you mean %s?" % near if near else ""),
            "fix the name, or list it in allow_unknown_keys (--allow-unknown-key) if a plugin "
            "reads it",
        )
    return key


def _drop_it(label):
    # type: (str) -> str
    return "drop this option" if label.startswith("--") else "remove it from the extra keys"


def _text(value, label, what):
    # type: (Any, str, str) -> str
    return contract._string(value, label, what, VALUE_MAX)


def _storm_scalar(value, label):
    # type: (Any, str) -> Any
    if isinstance(value, bool) or contract.is_int(value):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise contract.Invalid(label, "expected a finite number, found %r" % value)
        return value
    if isinstance(value, contract.STRING_TYPES):
        return _text(value, label, "a single-line string")
    raise contract.Invalid(
        label,
        "expected a string, number, true/false or a list of them, found %s" % contract.show(value),
    )


def check_storm_options(options, label, known=None, allow_unknown=(), owners=STORM_OWNED):
    # type: (Any, str, Optional[Iterable[str]], Iterable[str], Mapping[str, str]) -> Dict[str, Any]
    """Extra storm.yaml keys: scalars or lists of scalars, rendered as YAML the parser reads
    back as the same value. `owners` names what sets each key the renderer writes."""
    checked = {}
    for key, value in sorted(_table(options, label).items()):
        _check_key(key, label, owners, known, allow_unknown, "storm.yaml")
        where = "%s %s" % (label, key)
        if isinstance(value, list):
            checked[key] = [_storm_scalar(item, where) for item in value]
        else:
            checked[key] = _storm_scalar(value, where)
    return checked


def check_zk_options(
    options, label, known=None, allow_unknown=(), owners=ZK_OWNED, server_owner=ZK_SERVER_OWNER
):
    # type: (Any, str, Optional[Iterable[str]], Iterable[str], Mapping[str, str], str) -> Dict[str, str]
    """Extra zoo.cfg keys, as the text after `key=`: one line, nothing a Java properties file
    reads as an escape or a continuation."""
    checked = {}
    for key, value in sorted(_table(options, label).items()):
        where = "%s %s" % (label, key)
        if isinstance(key, contract.STRING_TYPES) and _ZK_OWNED_PATTERN.match(key):
            raise contract.Invalid(
                where,
                "bundler writes this key itself; it is set by %s" % server_owner,
                _drop_it(label),
            )
        _check_key(key, label, owners, known, allow_unknown, "zoo.cfg")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif contract.is_int(value):
            text = "%d" % value
        else:
            text = _text(value, where, "a single-line value")
            if "\\" in text or text != text.strip():
                raise contract.Invalid(
                    where,
                    "expected a value without backslashes or surrounding spaces, found %s"
                    % contract.show(text),
                    "zoo.cfg is a Java properties file, which reads them as escapes",
                )
        checked[key] = text
    return checked


def check_childopts_extra(options, label):
    # type: (Any, str) -> Dict[str, str]
    """Extra JVM options per daemon, appended to the heap option the renderer sets."""
    checked = {}
    for daemon, value in sorted(_table(options, label).items()):
        if daemon not in CHILDOPTS_DAEMONS:
            raise contract.Invalid(
                label,
                "expected daemons among %s, found %s"
                % (", ".join(CHILDOPTS_DAEMONS), contract.show(daemon)),
            )
        where = "%s %s" % (label, daemon)
        text = _text(value, where, "JVM options on one line")
        if re.search(r"(^|\s)-Xmx", text):
            raise contract.Invalid(
                where, "carries -Xmx, which heaps.%s sets" % daemon, "set heaps.%s" % daemon
            )
        words = " ".join(text.split())
        if not words:
            raise contract.Invalid(
                where, "expected JVM options, found only white space", "give options or drop it"
            )
        checked[daemon] = words
    return checked


# --- install.sh options: KEY=VALUE text -> the same values an inventory gives ---

_INT_TEXT = re.compile(r"-?[0-9]{1,18}\Z")
_FLOAT_TEXT = re.compile(r"-?[0-9]+\.[0-9]+\Z")


def _split_option(text, flag):
    # type: (str, str) -> Any
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise contract.Invalid(flag, "expected KEY=VALUE, found %s" % contract.show(text))
    return key, value


def _typed(text):
    # type: (str) -> Any
    """A --storm-option value as YAML would read the plain text: true/false, a whole number, a
    decimal with a dot, [a, b] a list of those; anything else the string as typed."""
    if text in ("true", "false"):
        return text == "true"
    if _INT_TEXT.match(text):
        return int(text)
    if _FLOAT_TEXT.match(text):
        return float(text)
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_typed(item.strip()) for item in inner.split(",")] if inner else []
    return text


# The releases' key sets: onhost/known-keys.json in a bundle, written by
# bundler/recipes/configkeys.py.
KNOWN_KEYS_FILE = "known-keys.json"
KNOWN_KEYS_PATH = "onhost/" + KNOWN_KEYS_FILE


def parse_known(data, where=KNOWN_KEYS_FILE):
    # type: (Any, str) -> Dict[str, Any]
    """known-keys.json's content -> {"storm": [...], "zookeeper": [...]}."""
    sets = {}  # type: Dict[str, Any]
    if isinstance(data, dict) and data.get("schema") == 1:
        for project in ("storm", "zookeeper"):
            entry = data.get(project)
            keys = entry.get("keys") if isinstance(entry, dict) else None
            if isinstance(keys, list) and all(isinstance(k, contract.STRING_TYPES) for k in keys):
                sets[project] = keys
    if len(sets) != 2:
        raise ValueError(
            "%s: expected schema 1 with the storm and zookeeper key lists, found %s"
            % (where, contract.show(data))
        )
    return sets


def load_known(path=None):
    # type: (Optional[str]) -> Optional[Dict[str, Any]]
    """{"storm": [...], "zookeeper": [...]}: the bundle's key sets, None when it has none."""
    onhost = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = path or os.path.join(onhost, KNOWN_KEYS_FILE)
    try:
        with io.open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (IOError, OSError):
        return None
    return parse_known(data, path)


# The install.sh options, each repeatable, with the attribute of flags.Args that collects them.
OPTION_FLAGS = {
    "--storm-option": "storm_option",
    "--zk-option": "zk_option",
    "--childopts": "childopts",
    "--allow-unknown-key": "allow_unknown_key",
}


def check_option(flag, text):
    # type: (str, str) -> None
    """One option's text as the command line gives it: its form, an owned key, a control
    character. Whether a release knows the key needs the bundle: parse_options checks that."""
    if flag == "--allow-unknown-key":
        if not isinstance(text, contract.STRING_TYPES) or not _KEY.match(text):
            raise contract.Invalid(
                flag,
                "expected a storm.yaml or zoo.cfg key (a letter, then letters, digits, '.', "
                "'_' or '-'), found %s" % contract.show(text),
            )
        return
    if flag == "--storm-option":
        parse_options(storm=[text])
    elif flag == "--zk-option":
        parse_options(zk=[text])
    else:
        parse_options(childopts=[text])


def parse_options(storm=(), zk=(), childopts=(), known=None, allow_unknown=()):
    # type: (Iterable[str], Iterable[str], Iterable[str], Optional[Dict[str, Any]], Iterable[str]) -> Dict[str, Dict[str, Any]]
    """--storm-option, --zk-option and --childopts texts -> the storm_options, zk_options and
    childopts_extra values, checked against `known` (load_known()) unless a key is in
    `allow_unknown` (--allow-unknown-key). A repeated KEY keeps the last value; a repeated
    --childopts DAEMON appends."""
    known = known or {}
    allow_unknown = list(allow_unknown)
    storm_options = {}
    for text in storm:
        key, value = _split_option(text, "--storm-option")
        storm_options[key] = _typed(value)
    zk_options = {}
    for text in zk:
        key, value = _split_option(text, "--zk-option")
        zk_options[key] = value
    extra = {}  # type: Dict[str, str]
    for text in childopts:
        daemon, value = _split_option(text, "--childopts")
        extra[daemon] = (extra[daemon] + " " + value) if daemon in extra else value
    return {
        "storm_options": check_storm_options(
            storm_options, "--storm-option", known.get("storm"), allow_unknown, STORM_OWNED_BY_FLAG
        ),
        "zk_options": check_zk_options(
            zk_options,
            "--zk-option",
            known.get("zookeeper"),
            allow_unknown,
            ZK_OWNED_BY_FLAG,
            ZK_SERVER_OWNER_BY_FLAG,
        ),
        "childopts_extra": check_childopts_extra(extra, "--childopts"),
    }


def overlay(part, flags):
    # type: (Dict[str, Any], Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Any]]
    """The inventory's extras (cluster.settings) with the flags' laid over them key by key."""
    merged = {}
    for key in ("storm_options", "zk_options", "childopts_extra"):
        value = dict(part.get(key) or {})
        value.update(flags.get(key) or {})
        merged[key] = value
    return merged


def dropped(old, new):
    # type: (Dict[str, Any], Dict[str, Dict[str, Any]]) -> List[str]
    """`storm_options topology.workers`, ...: the extra keys in the values `old` (the last run's
    record) that `new` no longer has."""
    return [
        "%s %s" % (value, key)
        for value in sorted(new)
        for key in sorted(old.get(value) or {})
        if key not in new[value]
    ]
