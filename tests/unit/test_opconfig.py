"""Operator-supplied configuration: extra storm.yaml / zoo.cfg keys and JVM options, checked in
cluster.toml against the release's known keys and rendered without changing any file's lines
(`bundler render` on the book's hosts and the same bytes on old Pythons:
tests/integration/test_opconfig.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundler.errors import UsageError
from bundler.onhost.contract import cluster, contract, extras
from bundler.onhost.render import configs
from bundler.recipes.configkeys import storm_keys, zookeeper_keys
from bundler.recipes.inventory import Inventory, KnownKeys
from tests.support.configfiles import config_manifest as manifest
from tests.support.configfiles import render_values as values
from tests.support.configfiles import rendered_texts as rendered
from tests.support.inventories import check

IPV4 = "-Djava.net.preferIPv4Stack=true"

HOSTS = """\
[[host]]
name = "a"
address = "10.0.0.1"
roles = ["zookeeper", "nimbus", "ui", "supervisor"]

[[host]]
name = "b"
address = "10.0.0.2"
roles = ["supervisor"]
{host_b}
"""


def inventory(
    tmp_path: Path, cluster_part: str, host_b: str = "", storm: str = "2.6.4", zk: str = "3.8.4"
) -> Inventory:
    body = textwrap.dedent(cluster_part) + "\n" + HOSTS.format(host_b=host_b)
    known = KnownKeys(storm_keys(storm).keys, zookeeper_keys(zk).keys)
    return check(tmp_path, body, storm, zk, known)


def refusal(tmp_path: Path, cluster_part: str, **kw: Any) -> str:
    with pytest.raises(UsageError) as caught:
        inventory(tmp_path, cluster_part, **kw)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- cluster.toml: checked against the release ---


def test_a_typo_is_refused_naming_the_closest_key(tmp_path: Path) -> None:
    message = refusal(tmp_path, '[cluster.storm_options]\n"topology.workrs" = 2\n')
    assert "storm_options topology.workrs: not a key this release knows" in message
    assert "did you mean topology.workers?" in message
    assert "allow_unknown_keys" in message


def test_a_key_of_another_era_is_refused(tmp_path: Path) -> None:
    # zmq.threads is Storm 0.9's; 2.x has no ZeroMQ transport.
    message = refusal(tmp_path, '[cluster.storm_options]\n"zmq.threads" = 2\n')
    assert "zmq.threads: not a key this release knows" in message
    # ...and the same key is fine on 0.9.5.
    inv = inventory(tmp_path, '[cluster.storm_options]\n"zmq.threads" = 2\n', storm="0.9.5",
                    zk="3.4.6")  # fmt: skip
    assert inv.host("a")["storm_options"] == {"zmq.threads": 2}


def test_a_zoo_cfg_key_is_checked_against_the_zookeeper_version(tmp_path: Path) -> None:
    body = '[cluster.zk_options]\n"admin.enableServer" = false\n'
    message = refusal(tmp_path, body, storm="0.9.5", zk="3.4.6")
    assert "zk_options admin.enableServer: not a key this release knows" in message
    inv = inventory(tmp_path, body)
    assert inv.host("a")["zk_options"] == {"admin.enableServer": "false"}
    assert "did you mean maxClientCnxns?" in refusal(
        tmp_path, "[cluster.zk_options]\nmaxClientCnxn = 10\n"
    )


def test_allow_unknown_keys_admits_a_plugin_key(tmp_path: Path) -> None:
    body = """\
    allow_unknown_keys = ["my.plugin.endpoint"]
    [cluster.storm_options]
    my.plugin.endpoint = "http://10.0.0.9:8000/x"
    """
    inv = inventory(tmp_path, body)
    # An unquoted dotted key is a nested TOML table: read back as the dotted key.
    assert inv.host("b")["storm_options"] == {"my.plugin.endpoint": "http://10.0.0.9:8000/x"}
    part = cluster.settings(inv.data, inv.host("b"))
    assert part["storm_options"] == {"my.plugin.endpoint": "http://10.0.0.9:8000/x"}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('[cluster.storm_options]\n"storm.local.dir" = "/x"', "it is set by prefix"),
        ('[cluster.storm_options]\n"nimbus.seeds" = ["a"]', "the hosts with the nimbus role"),
        ('[cluster.storm_options]\n"worker.childopts" = "-Xmx1g"', "childopts_extra.worker"),
        ('[cluster.storm_options]\n"ui.port" = 8081', "recipes/storm.toml"),
        ('[cluster.zk_options]\ndataDir = "/x"', "it is set by prefix"),
        ('[cluster.zk_options]\n"server.4" = "x:1:2"', "zk_peer_port"),
        ("[cluster.zk_options]\nclientPort = 2182", "zk_client_port"),
        ('[cluster.childopts_extra]\nworker = "-Xmx2g"', "set heaps.worker"),
        ('[cluster.childopts_extra]\nzookeeper = "-Dx=1"', "expected daemons among nimbus"),
    ],
)
def test_keys_the_renderer_owns_are_refused_with_their_option(
    tmp_path: Path, body: str, says: str
) -> None:
    assert says in refusal(tmp_path, body)


def test_a_host_overrides_the_cluster_key_by_key(tmp_path: Path) -> None:
    body = """\
    [cluster.storm_options]
    "topology.workers" = 2
    "topology.debug" = false
    [cluster.childopts_extra]
    worker = "-Da=1"
    supervisor = "-Db=1"
    """
    host_b = """\
    storm_options = { "topology.workers" = 4 }
    childopts_extra = { worker = "-Da=2" }
    """
    inv = inventory(tmp_path, body, textwrap.dedent(host_b))
    assert inv.host("a")["storm_options"] == {"topology.workers": 2, "topology.debug": False}
    assert inv.host("b")["storm_options"] == {"topology.workers": 4, "topology.debug": False}
    assert inv.host("b")["childopts_extra"] == {"worker": "-Da=2", "supervisor": "-Db=1"}


# --- the renderer ---


def test_without_extras_the_files_are_unchanged() -> None:
    empty = values(storm_options={}, zk_options={}, childopts_extra={})
    assert rendered(empty) == rendered(values())


def test_values_render_typed_and_replace_zoo_defaults_in_place() -> None:
    files = rendered(
        values(
            storm_options={"topology.debug": True, "topology.stats.sample.rate": 1e-05,
                           "drpc.servers": ["10.0.0.1", 5]},
            zk_options={"tickTime": 3000, "maxClientCnxns": 100, "admin.enableServer": False},
            childopts_extra={"nimbus": "  -Da=1   -Db=2 "},
        )
    )  # fmt: skip
    storm = yaml.safe_load(files["etc/storm/storm.yaml"])
    assert storm["topology.debug"] is True
    assert storm["topology.stats.sample.rate"] == 1e-05
    assert storm["drpc.servers"] == ["10.0.0.1", 5]
    assert storm["nimbus.childopts"] == "-Xmx1024m -Da=1 -Db=2"
    zoo = [line for line in files["etc/zookeeper/zoo.cfg"].splitlines() if "=" in line]
    keys = [line.split("=", 1)[0] for line in zoo]
    assert len(keys) == len(set(keys))
    assert "tickTime=3000" in zoo and "maxClientCnxns=100" in zoo
    assert "admin.enableServer=false" in zoo


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"storm_options": {"storm.zookeeper.servers": ["x"]}}, "storm_options'] storm.zook"),
        ({"storm_options": {"a.b": {"c": 1}}}, "expected a string, number, true/false"),
        ({"storm_options": {"a.b": float("nan")}}, "expected a finite number"),
        ({"zk_options": {"a": "x\\"}}, "without backslashes"),
        ({"zk_options": {"a": " x"}}, "without backslashes or surrounding spaces"),
        ({"childopts_extra": {"ui": "-Da=1\n-Db=2"}}, "control character"),
        ({"storm_options": {"bad key": 1}}, "expected a storm.yaml key"),
    ],
)
def test_the_renderer_refuses_unsafe_extras(extra: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        configs.render(manifest(), values(**extra))
    assert says in str(caught.value)


# --- properties: no value changes a generated file's line structure ---

TEXT = st.text(max_size=40)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(value=st.one_of(TEXT, st.integers(), st.floats(), st.booleans(), st.lists(TEXT, max_size=3)))
def test_a_storm_value_is_refused_or_read_back_as_written(value: Any) -> None:
    try:
        files = rendered(values(storm_options={"topology.name.x": value}))
    except contract.Invalid:
        return
    text = files["etc/storm/storm.yaml"]
    plain = rendered(values())["etc/storm/storm.yaml"]
    items = len(value) if isinstance(value, list) and value else 0
    # One comment line, the key's line, one line per list item: nothing else moved.
    assert len(text.splitlines()) == len(plain.splitlines()) + 2 + items
    assert text.startswith(plain)
    assert yaml.safe_load(text)["topology.name.x"] == value


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(value=st.one_of(TEXT, st.integers(min_value=0), st.booleans()))
def test_a_zoo_value_is_refused_or_one_line(value: Any) -> None:
    try:
        files = rendered(values(zk_options={"maxClientCnxns": value}))
    except contract.Invalid:
        return
    text = files["etc/zookeeper/zoo.cfg"]
    plain = rendered(values())["etc/zookeeper/zoo.cfg"]
    assert len(text.splitlines()) == len(plain.splitlines()) + 2
    line = text.splitlines()[-1]
    expected = ("true" if value else "false") if isinstance(value, bool) else str(value)
    assert line == f"maxClientCnxns={expected}"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(value=TEXT)
def test_extra_jvm_options_are_refused_or_stay_one_yaml_string(value: str) -> None:
    try:
        files = rendered(values(childopts_extra={"worker": value}))
    except contract.Invalid:
        return
    storm = yaml.safe_load(files["etc/storm/storm.yaml"])
    plain = yaml.safe_load(rendered(values())["etc/storm/storm.yaml"])
    extra = " ".join(value.split())
    want = plain["worker.childopts"] + (" " + extra if extra else "")
    assert storm["worker.childopts"] == want
    assert len(files["etc/storm/storm.yaml"].splitlines()) == len(
        rendered(values())["etc/storm/storm.yaml"].splitlines()
    )


# --- install.sh options, parsed by extras.py for the installer ---


def test_installer_options_parse_to_the_inventory_values() -> None:
    parsed = extras.parse_options(
        storm=["topology.workers=3", "topology.debug=true", "drpc.servers=[a, b]",
               "topology.name.x=a=b", "topology.rate=0.5", "topology.workers=4"],
        zk=["maxClientCnxns=100"],
        childopts=[f"worker={IPV4}", "worker=-Da=1", "nimbus=-Db=2"],
    )  # fmt: skip
    assert parsed == {
        "storm_options": {
            "topology.workers": 4,
            "topology.debug": True,
            "drpc.servers": ["a", "b"],
            "topology.name.x": "a=b",
            "topology.rate": 0.5,
        },
        "zk_options": {"maxClientCnxns": "100"},
        "childopts_extra": {"worker": f"{IPV4} -Da=1", "nimbus": "-Db=2"},
    }
    part = {"storm_options": {"topology.workers": 2, "a.b": 1}, "zk_options": {}}
    merged = extras.overlay(part, parsed)
    assert merged["storm_options"]["topology.workers"] == 4
    assert merged["storm_options"]["a.b"] == 1
    configs.render(manifest(), values(**merged))


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"storm": ["novalue"]}, "--storm-option: expected KEY=VALUE, found 'novalue'"),
        ({"storm": ["storm.local.dir=/x"]}, "--storm-option storm.local.dir: bundler writes"),
        ({"zk": ["dataDir=/x"]}, "--zk-option dataDir: bundler writes this key itself"),
        ({"childopts": ["drpc=-Dx"]}, "--childopts: expected daemons among"),
    ],
)
def test_installer_options_refused_in_one_line(kwargs: dict[str, Any], says: str) -> None:
    with pytest.raises(contract.Invalid) as caught:
        extras.parse_options(**kwargs)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_installer_options_are_checked_against_the_bundles_key_sets(tmp_path: Path) -> None:
    from bundler.recipes.configkeys import known_keys_file

    path = tmp_path / "known-keys.json"
    path.write_bytes(known_keys_file("0.9.5", "3.4.6"))
    known = extras.load_known(str(path))
    assert known is not None
    with pytest.raises(contract.Invalid) as caught:
        extras.parse_options(storm=["topology.workrs=2"], known=known)
    assert "did you mean topology.workers?" in str(caught.value)
    with pytest.raises(contract.Invalid, match=r"admin\.enableServer: not a key"):
        extras.parse_options(zk=["admin.enableServer=false"], known=known)
    allowed = extras.parse_options(storm=["my.plugin=1"], known=known, allow_unknown=["my.plugin"])
    assert allowed["storm_options"] == {"my.plugin": 1}
    assert extras.load_known(str(tmp_path / "absent.json")) is None
