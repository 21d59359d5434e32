"""What a generated file means, as opposed to its bytes: the digest a program's restart rests on.

A new bundle of the same versions writes files whose header comment names the new bundle, and
an inventory may list keys in another order; neither changes what ZooKeeper or Storm read, so
neither may restart them. Each format is reduced to what its reader takes from it:

- zoo.cfg and *.properties: java.util.Properties' key/value pairs (comments, blank lines,
  order and the separator's spacing ignored; a repeated key keeps its last value, as
  Properties does);
- storm.yaml: its top-level entries, each value as written (comments and order ignored), for
  the restricted YAML configs.py writes: `key: scalar`, `key: []` and `key:` followed by
  `  - scalar` items, a scalar being a double-quoted JSON string or a plain word;
- logback.xml: its bytes without `<!-- -->` comments;
- a systemd unit: its lines without `#`/`;` comment lines;
- anything else (myid, ...): its bytes.

Whatever does not parse as its format (a hand edit in another YAML style, a backslash in a
properties file, a key twice in storm.yaml) is compared by its bytes: at worst a program
restarts that did not need to, never the other way round.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import hashlib
import json
import re

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Tuple, Union  # noqa: F401

# Bumped when a format's reduction changes: a digest names the scheme it was made with.
SCHEME = "meaning-1"

_YAML_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*\Z")
_YAML_STRING = re.compile(r'"(?:[^"\\]|\\.)*"\Z')
_YAML_WORD = re.compile(r"[A-Za-z0-9_.+\-]+\Z")
_XML_COMMENT = re.compile(b"<!--.*?-->", re.DOTALL)


class Unparsed(Exception):
    """The text is not in the subset of its format this module reads."""


def kind_of(rel):
    # type: (str) -> str
    """The format of a generated file, by its path relative to the prefix."""
    name = rel.rsplit("/", 1)[-1]
    if name == "zoo.cfg" or name.endswith(".properties"):
        return "properties"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith(".xml"):
        return "xml"
    if name.endswith(".service"):
        return "unit"
    return "bytes"


def meaning(rel, data):
    # type: (str, bytes) -> Any
    """What a reader of rel takes from data, as a JSON-able value; ["bytes", hex digest]
    when the text is not in the subset of its format understood here."""
    kind = kind_of(rel)
    try:
        if kind == "properties":
            return ["properties", sorted(properties(data).items())]
        if kind == "yaml":
            return ["yaml", sorted(yaml_entries(data))]
        if kind == "xml":
            return ["xml", hashlib.sha256(_XML_COMMENT.sub(b"", data)).hexdigest()]
        if kind == "unit":
            return ["unit", unit_lines(data)]
    except Unparsed:
        pass
    return ["bytes", hashlib.sha256(data).hexdigest()]


def digest(rel, data):
    # type: (str, bytes) -> str
    """sha256 of meaning(rel, data): equal digests, same meaning."""
    text = json.dumps([SCHEME, meaning(rel, data)], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(data):
    # type: (bytes) -> str
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    raise Unparsed("not UTF-8")


def properties(data):
    # type: (bytes) -> Dict[str, str]
    """java.util.Properties' pairs of a file without escapes or continuation lines (a value's
    trailing spaces are kept, as Properties keeps them)."""
    found = {}  # type: Dict[str, str]
    for raw in _text(data).splitlines():
        line = raw.lstrip(" \t\f")
        if not line.strip() or line[0] in "#!":
            continue
        if "\\" in line:
            raise Unparsed("an escape or a continuation line")
        match = re.match(r"([^=:\s]+)\s*[=:]?\s*(.*)\Z", line)
        if match is None:
            raise Unparsed(line)
        found[match.group(1)] = match.group(2)
    return found


def _scalar(token):
    # type: (str) -> str
    token = token.strip(" ")
    if _YAML_STRING.match(token) or _YAML_WORD.match(token):
        return token
    raise Unparsed(token)


def yaml_entries(data):
    # type: (bytes) -> List[Tuple[str, Any]]
    """The top-level (key, value) pairs of the YAML subset configs.py writes; a list value is
    a list of its items' texts."""
    entries = []  # type: List[Tuple[str, Any]]
    current = None  # type: Optional[Tuple[str, List[str]]]
    for line in _text(data).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith((" ", "\t", "-")):
            item = line.lstrip(" ")
            if current is None or not item.startswith("- "):
                raise Unparsed(line)
            current[1].append(_scalar(item[2:]))
            continue
        if current is not None:
            if not current[1]:
                raise Unparsed("%s: a null value" % current[0])
            entries.append((current[0], current[1]))
            current = None
        key, sep, rest = line.partition(":")
        if not sep or not _YAML_KEY.match(key) or (rest and not rest.startswith(" ")):
            raise Unparsed(line)
        rest = rest.strip(" ")
        if not rest:
            current = (key, [])
        elif rest == "[]":
            entries.append((key, []))
        else:
            entries.append((key, _scalar(rest)))
    if current is not None:
        if not current[1]:
            raise Unparsed("%s: a null value" % current[0])
        entries.append((current[0], current[1]))
    keys = [key for key, _ in entries]
    if len(set(keys)) != len(keys):
        raise Unparsed("a key given twice")
    return entries


def unit_lines(data):
    # type: (bytes) -> List[str]
    """A systemd unit's lines without its comment lines (systemd ignores `#` and `;` ones)."""
    return [
        line.rstrip()
        for line in _text(data).splitlines()
        if not line.lstrip().startswith(("#", ";"))
    ]
