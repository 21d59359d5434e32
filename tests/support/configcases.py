"""The config renderer's cases: one host each, from the book's two EC2 machines to an ensemble's
second member and an ordinary user's own prefix, on every Storm and ZooKeeper line; each has a
golden folder under tests/golden/configs/<case>/."""

from __future__ import annotations

import json
from typing import Any

from bundler.onhost.render import configs
from tests.support.configfiles import config_manifest, render_values

ALL_ROLES = ["zookeeper", "nimbus", "supervisor", "ui", "logviewer", "drpc"]
BOOK_NIMBUS = "172.31.36.23"
JAVA8 = {"java_home": "/usr/lib/jvm/java-8-openjdk-amd64", "java_major": 8}

CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    # The book's nimbus host: ZooKeeper, Nimbus, UI and a supervisor on one EC2 machine.
    "storm-0.9.5-zk-3.4.6-nimbus": (
        "0.9.5",
        "3.4.6",
        render_values(
            host=BOOK_NIMBUS,
            zk_servers=[BOOK_NIMBUS],
            nimbus_hosts=[BOOK_NIMBUS],
            memory_mb=7680,
            **JAVA8,
        ),
    ),
    # The book's second machine: a supervisor only, on Python 2.7 and Java 7.
    "storm-0.9.5-supervisor": (
        "0.9.5",
        "3.4.6",
        render_values(
            roles=["supervisor"],
            host="172.31.19.62",
            zk_servers=[BOOK_NIMBUS],
            zk_id=None,
            nimbus_hosts=[BOOK_NIMBUS],
            java_home="/usr/lib/jvm/java-7-openjdk-amd64",
            java_major=7,
            memory_mb=4096,
            python="/usr/bin/python2.7",
            launcher_python="/usr/bin/python2.7",
        ),
    ),
    "storm-0.10.2-zk-3.4.14-ensemble": (
        "0.10.2",
        "3.4.14",
        render_values(
            roles=["zookeeper", "nimbus", "supervisor", "ui", "logviewer"],
            host="zk1.storm.internal",
            zk_servers=["zk1.storm.internal", "zk2.storm.internal", "zk3.storm.internal"],
            nimbus_hosts=["zk1.storm.internal"],
            memory_mb=16384,
            launcher_python="/usr/bin/python2.7",
            **JAVA8,
        ),
    ),
    # Java 17 with a release whose default worker.childopts kills workers on Java 9+.
    "storm-1.2.4-zk-3.5.10-java17": (
        "1.2.4",
        "3.5.10",
        render_values(
            host="10.0.0.11",
            zk_servers=["10.0.0.11", "10.0.0.12", "10.0.0.13"],
            nimbus_hosts=["10.0.0.11"],
        ),
    ),
    "storm-2.4.0-zk-3.8.4-java11": (
        "2.4.0",
        "3.8.4",
        render_values(
            roles=["zookeeper", "nimbus", "supervisor"],
            host="10.0.1.5",
            zk_servers=["10.0.1.5"],
            nimbus_hosts=["10.0.1.5", "10.0.1.6"],
            java_home="/usr/lib/jvm/java-11-openjdk-amd64",
            java_major=11,
            memory_mb=32768,
            slots=[6700, 6701],
        ),
    ),
    # `--role all`: a single-node cluster on localhost.
    "storm-2.6.4-zk-3.8.4-all": (
        "2.6.4",
        "3.8.4",
        render_values(roles=ALL_ROLES, memory_mb=4096, launcher_python="/usr/bin/python3.11"),
    ),
    # The second of three ZooKeeper nodes, also a supervisor; supervisord's web UI on the LAN.
    "storm-2.8.8-zk-3.9.3-ensemble-id2": (
        "2.8.8",
        "3.9.3",
        render_values(
            roles=["zookeeper", "supervisor", "logviewer"],
            host="10.0.2.12",
            zk_servers=["10.0.2.11", "10.0.2.12", "10.0.2.13"],
            zk_id=2,
            nimbus_hosts=["10.0.2.11", "10.0.2.13"],
            http_bind="10.0.2.12",
            http_port=9101,
            java_home="/usr/lib/jvm/temurin-21-jdk-amd64",
            java_major=21,
            memory_mb=65536,
            slots=list(range(6700, 6708)),
        ),
    ),
    # Installed by an ordinary user into their own prefix: no user= lines, a user unit.
    "storm-2.8.8-zk-3.9.3-nonroot": (
        "2.8.8",
        "3.9.3",
        render_values(
            prefix="/home/alice/storm",
            user=None,
            roles=ALL_ROLES,
            memory_mb=2048,
            python="/home/alice/.pyenv/versions/3.12.1/bin/python3.12",
            launcher_python="/home/alice/.pyenv/versions/3.12.1/bin/python3.12",
            site_dir="/home/alice/storm/python/site",
            slots=[6700, 6701],
        ),
    ),
}


def inputs(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A case's manifest part and a copy of its values, as JSON would carry them."""
    storm, zookeeper, values = CASES[case]
    return config_manifest(storm, zookeeper), json.loads(json.dumps(values))


def rendered(case: str) -> dict[str, tuple[str, int]]:
    """A case's rendered files: path -> (text, mode)."""
    manifest, values = inputs(case)
    return {rel: (text, mode) for rel, text, mode in configs.render(manifest, values)}
