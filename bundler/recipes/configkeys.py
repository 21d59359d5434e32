"""The config keys a Storm or ZooKeeper release knows, from the data in recipes/.

Storm: the top-level keys of the release's conf/defaults.yaml, vendored under
recipes/storm-defaults/ (one file per reference release; a version without its own file uses
the newest vendored one of its line, else the newest older one). ZooKeeper: the rules of
recipes/zookeeper-keys.toml. Used to check the operator's extra keys (extras.py).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from bundler.recipes.recipes import RECIPES_DIR

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

# A top-level key of defaults.yaml: at column 0, before the colon.
_TOP_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*):", re.MULTILINE)


@dataclass(frozen=True)
class KeySet:
    keys: frozenset[str]
    origin: str  # what the set was read from, for messages


def _version(text: str) -> Version:
    try:
        return Version(text.removesuffix("-incubating"))
    except InvalidVersion:
        return Version("0")


def storm_keys(version: str, recipes_dir: Path = RECIPES_DIR) -> KeySet:
    folder = recipes_dir / "storm-defaults"
    vendored = sorted((_version(p.stem), p) for p in folder.glob("*.yaml"))
    want = _version(version)
    same_line = [p for v, p in vendored if v.release[:2] == want.release[:2] and v <= want]
    same_line = same_line or [p for v, p in vendored if v.release[:2] == want.release[:2]]
    older = [p for v, p in vendored if v <= want]
    path = (same_line or older or [vendored[0][1]])[-1]
    keys = frozenset(_TOP_KEY.findall(path.read_text(encoding="utf-8")))
    return KeySet(keys, f"Storm {path.stem}'s defaults.yaml")


def zookeeper_keys(version: str, recipes_dir: Path = RECIPES_DIR) -> KeySet:
    data = tomllib.loads((recipes_dir / "zookeeper-keys.toml").read_text(encoding="utf-8"))
    want = _version(version)
    keys: set[str] = set()
    for rule in data["rule"]:
        if SpecifierSet(rule["versions"]).contains(want, prereleases=True):
            keys.update(rule["keys"])
    return KeySet(frozenset(keys), f"the zoo.cfg keys ZooKeeper {version} documents")


def known_keys_file(storm: str, zookeeper: str, recipes_dir: Path = RECIPES_DIR) -> bytes:
    """onhost/known-keys.json: both key sets, sorted, with their origin."""
    data: dict[str, object] = {"schema": 1}
    for project, found in (
        ("storm", storm_keys(storm, recipes_dir)),
        ("zookeeper", zookeeper_keys(zookeeper, recipes_dir)),
    ):
        data[project] = {"origin": found.origin, "keys": sorted(found.keys)}
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()
