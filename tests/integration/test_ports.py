"""`bundler ports` against the files the renderer writes: each host's ports, read back from its
rendered zoo.cfg, storm.yaml (over the release's own defaults.yaml) and supervisord.conf, are
the ports `bundler ports` lists for it, and its firewall rules name the hosts that reach them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bundler.recipes.recipes import RECIPES_DIR, Recipe
from tests.support.cli import ROOT, bundler
from tests.support.configfiles import supervisord_ini, zoo_cfg
from tests.support.inventories import THREE_HOSTS, cluster_toml

BOOK = ROOT / "docs" / "examples" / "book-two-hosts.toml"
# The keys each Storm daemon listens on, as Storm's own code reads them (one port per key).
DAEMON_KEYS = {
    "storm-nimbus": ["nimbus.thrift.port"],
    "storm-supervisor": ["supervisor.thrift.port"],
    "storm-ui": ["ui.port"],
    "storm-logviewer": ["logviewer.port"],
    "storm-drpc": ["drpc.port", "drpc.invocations.port", "drpc.http.port"],
}
# Three hosts, every role, and ports the operator moved.
THREE = cluster_toml(
    '[cluster.storm_options]\n"drpc.invocations.port" = 3999\n'
    + THREE_HOSTS.replace('"nimbus", "ui"]', '"nimbus", "ui", "drpc"]').replace(
        '"zookeeper", "supervisor"]', '"zookeeper", "supervisor", "logviewer"]', 1
    ),
    storm="2.6.4",
    zookeeper="3.8.4",
    zk_client_port=2281,
)


def storm_yaml_ports(text: str) -> dict[str, Any]:
    """The top-level `key: int` lines and supervisor.slots.ports of a storm.yaml."""
    found: dict[str, Any] = {
        k: int(v) for k, v in re.findall(r"^([a-z.]+): *(-?[0-9]+)$", text, re.M)
    }
    slots = re.search(r"^supervisor\.slots\.ports:\n((?:  - [0-9]+\n)*)", text, re.M)
    found["slots"] = [int(p) for p in re.findall(r"[0-9]+", slots[1])] if slots else []
    return found


def rendered_ports(folder: Path, storm: str, zk: str) -> set[int]:
    """Every port the host's rendered files make its programs listen on (workers' slots too)."""
    conf = supervisord_ini((folder / "etc" / "supervisord.conf").read_text())
    programs = [s.split(":", 1)[1] for s in conf.sections() if s.startswith("program:")]
    ports = {int(conf.get("inet_http_server", "port").rsplit(":", 1)[1])}
    zoo = folder / "etc" / "zookeeper" / "zoo.cfg"
    if "zookeeper" in programs:
        cfg = zoo_cfg(zoo.read_text())
        ports.add(int(cfg["clientPort"]))
        myid = int((folder / "data" / "zookeeper" / "myid").read_text())
        if len([k for k in cfg if k.startswith("server.")]) > 1:
            peer, election = cfg[f"server.{myid}"].split(";")[0].split(":")[1:3]
            ports |= {int(peer), int(election)}
        facts = Recipe.load("zookeeper").resolve(zk).facts
        if facts.get("admin_server"):
            ports.add(int(cfg.get("admin.serverPort", facts["admin_port"])))
    yaml = storm_yaml_ports((folder / "etc" / "storm" / "storm.yaml").read_text())
    defaults = storm_yaml_ports((RECIPES_DIR / "storm-defaults" / f"{storm}.yaml").read_text())
    for program in programs:
        for key in DAEMON_KEYS.get(program, []):
            port = yaml.get(key, defaults.get(key))
            if port is not None and port > 0:
                ports.add(port)
    if "storm-supervisor" in programs:
        ports |= set(yaml["slots"])
    return ports


def listed(cluster: Path, *args: str) -> Any:
    run = bundler("ports", "--cluster", cluster, "--format", "json", *args)
    assert run.code == 0, run
    return json.loads(run.out)


@pytest.mark.parametrize(
    ("source", "storm", "zk", "hosts"),
    [
        (BOOK.read_text(), "0.9.5", "3.4.6", 2),
        (THREE, "2.6.4", "3.8.4", 3),
    ],
    ids=["book-two-hosts", "three-hosts"],
)
def test_ports_are_what_the_rendered_files_open(
    tmp_path: Path, source: str, storm: str, zk: str, hosts: int
) -> None:
    cluster = tmp_path / "cluster.toml"
    cluster.write_text(source)
    table = listed(cluster)
    assert len(table) == hosts
    for host in table:
        out = tmp_path / host["name"]
        run = bundler("render", "--cluster", cluster, "--host", host["name"], "--out", out)
        assert run.code == 0, run
        files = rendered_ports(out, storm, zk)
        assert {p["port"] for p in host["ports"]} == files, host["name"]
        assert listed(cluster, "--host", host["name"]) == [host]


def test_who_reaches_what_and_the_rules(tmp_path: Path) -> None:
    cluster = tmp_path / "cluster.toml"
    cluster.write_text(THREE)
    zk1, zk2, zk3 = listed(cluster)
    by_port = {p["port"]: p for p in zk1["ports"]}
    # The operator's ports, the peers by name and address, loopback said as such.
    assert by_port[2281]["from"] == [["zk2", "10.0.0.2"], ["zk3", "10.0.0.3"]]
    assert by_port[2888]["from"] == by_port[3888]["from"] == by_port[2281]["from"]
    assert by_port[3999]["role"] == "drpc"
    assert by_port[3999]["from"] == [["zk2", "10.0.0.2"], ["zk3", "10.0.0.3"]]
    assert by_port[6627]["from"] == [["zk2", "10.0.0.2"], ["zk3", "10.0.0.3"]]
    assert (by_port[9001]["loopback"], by_port[9001]["from"]) == (True, [])
    # Nimbus sends assignments to Storm 2's supervisors; only the UI host reads logviewers.
    assert {p["port"]: p["from"] for p in zk2["ports"]}[6628] == [["zk1", "10.0.0.1"]]
    assert {p["port"]: p["from"] for p in zk2["ports"]}[8000] == [["zk1", "10.0.0.1"]]
    assert 8000 not in {p["port"] for p in zk3["ports"]}

    rules = bundler("ports", "--cluster", cluster, "--host", "zk1", "--format", "nftables").out
    nft = [line for line in rules.splitlines() if line.startswith("nft ")]
    wanted = sum(len(p["from"]) for p in zk1["ports"])
    assert len(nft) == wanted
    assert "nft add rule inet filter input ip saddr 10.0.0.2 tcp dport 2281 accept" in rules
    assert not any("dport 9001" in line for line in nft)
    for kind, start in (("iptables", "iptables -A INPUT"), ("firewalld", "firewall-cmd")):
        out = bundler("ports", "--cluster", cluster, "--host", "zk1", "--format", kind).out
        assert len([line for line in out.splitlines() if line.startswith(start)]) == wanted + (
            kind == "firewalld"
        )


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    cluster = tmp_path / "cluster.toml"
    cluster.write_text(THREE)
    bad = bundler("ports", "--cluster", cluster, "--format", "pf")
    assert (bad.code, bad.out) == (2, "")
    assert bad.err == (
        "bundler: error: --format pf: expected one of table, nftables, firewalld, iptables, "
        "json; pick one of them\n"
    )
    unknown = bundler("ports", "--cluster", cluster, "--host", "zk9")
    assert unknown.code == 2 and len(unknown.err.splitlines()) == 1, unknown
