"""The bundle's contract: bundle.json, its schema version, its key names, and one reader.

The shape is defined once, in bundle.schema.json beside this file (JSON Schema 2020-12). It
ships in every bundle (onhost/contract/bundle.schema.json); the build side writes through its typed
model and its tests validate every built manifest against the same file with `jsonschema`.
Here, on the host, `check` applies the subset of JSON Schema that file uses, so the
installer needs nothing beyond the standard library.

    read(bundle_dir) -> Manifest     bundle.json of an unpacked bundle, checked
    parse(data)      -> Manifest     an already parsed bundle.json, checked
    sums_mismatch(manifest, text)    the first file SHA256SUMS and bundle.json disagree on

Standard library only; runs on Python 2.7 and 3.6 to 3.13.
"""

from __future__ import absolute_import, print_function

import io
import json
import numbers
import os
import re
from collections import namedtuple

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, Optional, Union  # noqa: F401

# The one schema version. Readers refuse any other: a bundle is read by the installer it
# carries, and by a bundler that knows its schema.
SCHEMA_VERSION = 1

MANIFEST_FILE = "bundle.json"
SUMS_FILE = "SHA256SUMS"
SCHEMA_FILE = "bundle.schema.json"
CLUSTER_FILE = "cluster.json"
# Files at the top of a bundle that describe the others and so are not listed in `files`.
SELF_DESCRIBED = (MANIFEST_FILE, SUMS_FILE)

# Top-level keys.
K_SCHEMA = "schema"
K_NAME = "name"
K_EPOCH = "source_date_epoch"
K_COMPONENTS = "components"
K_ARTIFACTS = "artifacts"
K_POLICY = "policy"
K_CLUSTER = "cluster"
K_FILES = "files"
# Components.
STORM = "storm"
ZOOKEEPER = "zookeeper"
SUPERVISOR = "supervisor"
JDK = "jdk"
SMOKE = "smoke"  # storm-starter, the example topology `stormctl smoke` submits

# Plain objects for the installer; `data` keeps the checked dict for configs.render.
Release = namedtuple("Release", "version line known_release rules artifact top facts")
Jdk = namedtuple("Jdk", "version java_major artifact top")
Smoke = namedtuple("Smoke", "version artifact")
PythonWheels = namedtuple("PythonWheels", "lock pip wheels")
Supervisor = namedtuple("Supervisor", "version pythons")
Artifact = namedtuple("Artifact", "component path size sha256 sidecars verification")
FileEntry = namedtuple("FileEntry", "size sha256")
ClusterRef = namedtuple("ClusterRef", "file name hosts")
Manifest = namedtuple(
    "Manifest",
    "schema name source_date_epoch storm zookeeper supervisor jdk smoke artifacts policy "
    "cluster files data",
)

_TEXT = (type(""), type("".encode("ascii").decode("ascii")))  # str, and unicode on Python 2
_schema_cache = {}  # type: Dict[str, Any]
_MISSING = object()


class ManifestError(ValueError):
    """bundle.json is missing, unreadable or breaks the contract; the message says where."""


class ManifestVersionError(ManifestError):
    """bundle.json has another schema version: made by another bundler, not damaged."""


def schema_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), SCHEMA_FILE)


def schema():
    """The JSON Schema of bundle.json, as shipped beside this module."""
    if "schema" not in _schema_cache:
        with io.open(schema_path(), encoding="utf-8") as handle:
            _schema_cache["schema"] = json.load(handle)
    return _schema_cache["schema"]


# --- the subset of JSON Schema that bundle.schema.json uses ---


def _is_type(value, name):
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, _TEXT)
    if name == "integer":
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    raise ManifestError("%s: unknown type %r in the schema" % (SCHEMA_FILE, name))


def _show(value):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(rule, root):
    while "$ref" in rule:
        ref = rule["$ref"]
        if not ref.startswith("#/$defs/"):
            raise ManifestError("%s: unsupported $ref %r" % (SCHEMA_FILE, ref))
        rule = root["$defs"][ref[len("#/$defs/") :]]
    return rule


def _problem(rule, value, where, root):
    """The first way `value` breaks `rule`, as (where, expected, found), or None."""
    rule = _resolve(rule, root)
    if "const" in rule and (value != rule["const"] or isinstance(value, bool)):
        return where, _show(rule["const"]), value
    if "enum" in rule and value not in rule["enum"]:
        return where, "one of %s" % ", ".join(_show(v) for v in rule["enum"]), value
    if "type" in rule:
        names = rule["type"] if isinstance(rule["type"], list) else [rule["type"]]
        if not any(_is_type(value, n) for n in names):
            return where, "a JSON %s" % " or ".join(names), value
    if "pattern" in rule and isinstance(value, _TEXT) and not re.search(rule["pattern"], value):
        return where, "text matching %s" % rule["pattern"], value
    if "minimum" in rule and _is_type(value, "integer") and value < rule["minimum"]:
        return where, "a number of at least %d" % rule["minimum"], value
    if isinstance(value, dict):
        for key in rule.get("required", ()):
            if key not in value:
                return "%s.%s" % (where, key), "a value (it is required)", _MISSING
        properties = rule.get("properties", {})
        extra = rule.get("additionalProperties", True)
        names = rule.get("propertyNames")
        for key in sorted(value):
            inner = "%s.%s" % (where, key)
            if names is not None:
                found = _problem(names, key, inner + " (the key)", root)
                if found:
                    return found
            if key in properties:
                found = _problem(properties[key], value[key], inner, root)
            elif extra is False:
                return inner, "no such key (not in %s)" % SCHEMA_FILE, value[key]
            elif isinstance(extra, dict):
                found = _problem(extra, value[key], inner, root)
            else:
                found = None
            if found:
                return found
    if isinstance(value, list) and "items" in rule:
        for i, item in enumerate(value):
            found = _problem(rule["items"], item, "%s[%d]" % (where, i), root)
            if found:
                return found
    return None


def check(data, where=MANIFEST_FILE):
    # type: (Any, str) -> None
    """Raise ManifestError unless `data` (a parsed bundle.json) keeps the contract."""
    if not isinstance(data, dict):
        raise ManifestError("%s: expected a JSON object, found %s" % (where, _show(data)))
    version = data.get(K_SCHEMA)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ManifestVersionError(
            "%s: expected manifest schema %d, found %s; read it with the bundler or the "
            "install.sh that made it" % (where, SCHEMA_VERSION, _show(version))
        )
    root = schema()
    found = _problem(root, data, where, root)
    if found:
        at, expected, value = found
        raise ManifestError(
            "%s: expected %s, found %s; the bundle is damaged or was edited: unpack it again "
            "from the archive its .sha256 vouches for"
            % (at, expected, "nothing" if value is _MISSING else _show(value))
        )


# --- reading ---


def parse(data, where=MANIFEST_FILE):
    # type: (Any, str) -> Manifest
    """A checked Manifest from a parsed bundle.json."""
    check(data, where)
    components = data[K_COMPONENTS]
    sup = components[SUPERVISOR]
    jdk = components.get(JDK)
    smoke = components.get(SMOKE)
    cluster = data.get(K_CLUSTER)
    return Manifest(
        schema=data[K_SCHEMA],
        name=data[K_NAME],
        source_date_epoch=data[K_EPOCH],
        storm=release_of(components[STORM]),
        zookeeper=release_of(components[ZOOKEEPER]),
        supervisor=Supervisor(
            sup["version"],
            dict(
                (py, PythonWheels(e["lock"], e["pip"], tuple(e["wheels"])))
                for py, e in sup["pythons"].items()
            ),
        ),
        jdk=Jdk(jdk["version"], jdk["java_major"], jdk["artifact"], jdk["top"]) if jdk else None,
        smoke=Smoke(smoke["version"], smoke["artifact"]) if smoke else None,
        artifacts=tuple(
            Artifact(
                a["component"],
                a["path"],
                a["size"],
                a["sha256"],
                tuple(a["sidecars"]),
                a["verification"],
            )
            for a in data[K_ARTIFACTS]
        ),
        policy=dict(data[K_POLICY]),
        cluster=ClusterRef(cluster["file"], cluster["name"], tuple(cluster["hosts"]))
        if cluster
        else None,
        files=dict((k, FileEntry(v["size"], v["sha256"])) for k, v in data[K_FILES].items()),
        data=data,
    )


def release_of(entry):
    # type: (Dict[str, Any]) -> Release
    return Release(
        entry["version"],
        entry["line"],
        entry["known_release"],
        tuple(entry["rules"]),
        entry["artifact"],
        entry["top"],
        entry["facts"],
    )


def loads(raw, where=MANIFEST_FILE):
    # type: (Union[bytes, str], str) -> Manifest
    """A checked Manifest from bundle.json's bytes or text."""
    problem = None
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except ValueError as exc:  # UnicodeDecodeError is one too
        problem = exc
    if problem is not None:
        raise ManifestError("%s: expected JSON, found a parse error (%s)" % (where, problem))
    return parse(data, where)


def read(bundle_dir):
    # type: (str) -> Manifest
    """The checked manifest of an unpacked bundle."""
    path = os.path.join(bundle_dir, MANIFEST_FILE)
    problem = None
    try:
        with io.open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        problem = exc
    if problem is not None:
        raise ManifestError(
            "%s: expected the bundle's manifest, found none (%s); unpack the bundle again"
            % (path, problem)
        )
    return loads(raw, path)


def parse_sums(text):
    # type: (str) -> Dict[str, str]
    """{relative path: sha256} from SHA256SUMS (coreutils format)."""
    sums = {}  # type: Dict[str, str]
    for line in text.splitlines():
        if line.strip():
            digest, _, name = line.partition("  ")
            sums[name] = digest
    return sums


def sums_mismatch(manifest, sums_text):
    # type: (Manifest, str) -> Optional[str]
    """The first path on which bundle.json's files and SHA256SUMS disagree, or None."""
    listed = dict((k, v.sha256) for k, v in manifest.files.items())
    sums = dict((k, v) for k, v in parse_sums(sums_text).items() if k not in SELF_DESCRIBED)
    if listed == sums:
        return None
    return sorted(set(listed.items()) ^ set(sums.items()))[0][0]
