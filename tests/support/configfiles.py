"""The renderer's inputs (the manifest part it takes, one host's values) and the rendered config
files read back the way their programs read them, shared by the config, value-rule and
operator-option tests."""

from __future__ import annotations

import configparser
import hashlib
from typing import Any

from bundler.onhost.render import configs
from bundler.pack.manifest import Release, config_view
from bundler.recipes.recipes import Recipe


def config_manifest(storm: str = "2.6.4", zookeeper: str = "3.8.4") -> dict[str, Any]:
    """The part of bundle.json the renderer reads, from the code `bundler build` writes with."""
    return config_view(
        f"storm-{storm}-zk-{zookeeper}",
        Release.of(Recipe.load("storm").resolve(storm)),
        Release.of(Recipe.load("zookeeper").resolve(zookeeper)),
    )


def component(project: str, version: str) -> dict[str, Any]:
    """A component of the manifest as the renderer reads it: version, line and facts."""
    comp = Recipe.load(project).resolve(version)
    return {"version": comp.version, "line": comp.line, "facts": dict(comp.facts)}


PASSWORD = "correct horse battery staple"
PASSWORD_SHA1 = hashlib.sha1(PASSWORD.encode()).hexdigest()


def render_values(**changes: Any) -> dict[str, Any]:
    """One host's values for configs.render: ZooKeeper, Nimbus, a supervisor and the UI on
    127.0.0.1 under /opt/storm, with `changes` over them."""
    values: dict[str, Any] = {
        "prefix": "/opt/storm",
        "user": "storm",
        "roles": ["zookeeper", "nimbus", "supervisor", "ui"],
        "host": "127.0.0.1",
        "zk_servers": ["127.0.0.1"],
        "zk_id": 1,
        "nimbus_hosts": ["127.0.0.1"],
        "http_bind": "127.0.0.1",
        "http_port": 9001,
        "web_password_sha1": PASSWORD_SHA1,
        "java_home": "/usr/lib/jvm/java-17-openjdk-amd64",
        "java_major": 17,
        "memory_mb": 8192,
        "python": "/usr/bin/python3",
        "launcher_python": "/usr/bin/python3",
        "site_dir": "/opt/storm/python/site",
        "slots": [6700, 6701, 6702, 6703],
        "zk_ports": {"client": 2181, "peer": 2888, "election": 3888, "admin": None},
        "heaps": {},
    }
    values.update(changes)
    # Ids 1..N in list order, as install.sh's --zk-servers gives them, unless a case says.
    values.setdefault("zk_ids", list(range(1, len(values["zk_servers"]) + 1)))
    return values


def rendered_texts(values: dict[str, Any]) -> dict[str, str]:
    """The files configs.render writes for these values with Storm 2.6.4 and ZooKeeper 3.8.4:
    path -> text."""
    return {rel: text for rel, text, _ in configs.render(config_manifest(), values)}


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
