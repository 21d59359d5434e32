"""The rendered config files read back the way their programs read them, and the manifest part
the renderer takes, shared by the config, value-rule and operator-option tests."""

from __future__ import annotations

import configparser
from typing import Any

from bundler.pack.manifest import Release, config_view
from bundler.recipes.recipes import Recipe


def config_manifest(storm: str = "2.6.4", zookeeper: str = "3.8.4") -> dict[str, Any]:
    """The part of bundle.json the renderer reads, from the code `bundler build` writes with."""
    return config_view(
        f"storm-{storm}-zk-{zookeeper}",
        Release.of(Recipe.load("storm").resolve(storm)),
        Release.of(Recipe.load("zookeeper").resolve(zookeeper)),
    )


def zoo_cfg(text: str) -> dict[str, str]:
    """zoo.cfg as ZooKeeper reads it: key=value lines, # comments; a key only once."""
    entries = [line.split("=", 1) for line in text.splitlines() if line and line[0] != "#"]
    assert all(len(e) == 2 for e in entries), text
    keys = [k for k, _ in entries]
    assert len(keys) == len(set(keys)), f"duplicate keys in zoo.cfg: {keys}"
    return dict(entries)


def supervisord_ini(text: str) -> configparser.RawConfigParser:
    """supervisord.conf as INI the way supervisord reads it: no interpolation, strict
    sections, `;` comments, case kept."""
    parser = configparser.RawConfigParser(
        interpolation=None, strict=True, inline_comment_prefixes=(";",)
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser
