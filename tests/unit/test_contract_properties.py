"""Property tests of contract.py's rules, with hypothesis.

1. Any text at all (random unicode, control characters, YAML/INI/shell metacharacters) either
   is refused with one line naming the value, or is accepted unchanged and is plain ASCII with
   no control character.
2. Whatever the rules accept (tests/support/valuestrategies.py), rendered by the real renderer
   (configs.render) into zoo.cfg, myid, storm.yaml, supervisord.conf, stormctl and the systemd
   unit, keeps every file's line structure (the same lines as with plain values) and reads back
   as the same value: zoo.cfg as ZooKeeper's key=value lines, storm.yaml through PyYAML,
   supervisord.conf through configparser, stormctl through shlex. (supervisord's own parser and
   `sh -n`: tests/integration/test_contract_properties.py.)
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from supervisor.datatypes import dict_of_key_value_pairs

from bundler.onhost.contract import contract
from bundler.onhost.render import configs
from tests.support import valuestrategies
from tests.support.configfiles import supervisord_ini as _ini
from tests.support.configfiles import zoo_cfg as _zoo_cfg
from tests.support.valuestrategies import ALLOWED, NASTY, cases

TEXT = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=NASTY + ALLOWED, max_size=40),
    st.text(alphabet=NASTY + ALLOWED, max_size=40).map(lambda s: "/opt/" + s),
    st.text(alphabet=NASTY, max_size=3).map(lambda s: "zk1" + s),
    st.text(alphabet=NASTY, max_size=3).map(lambda s: "/opt/storm" + s),
)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

RULES: dict[str, Callable[[Any, str], Any]] = {
    "prefix": contract.check_prefix,
    "path": contract.check_path,
    "user": contract.check_user,
    "address": contract.check_address,
    "bind": contract.check_bind_address,
    "host name": contract.check_host_name,
    "cluster name": contract.check_cluster_name,
    "bundle name": contract.check_bundle_name,
    "role": contract.parse_roles,
    "host list": contract.parse_host_list,
    "ui-bind": contract.parse_bind,
    "zk id": lambda text, label: contract.parse_int(text, label, contract.ZK_ID_RANGE),
    "port": lambda text, label: contract.parse_int(text, label, contract.PORT_RANGE),
    "init": contract.check_init,
    **{flag: rule for flag, rule in contract.FLAG_RULES.items()},
}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.parametrize("name", list(RULES))
@PROPERTY
@given(text=TEXT)
def test_a_rule_refuses_in_one_line_or_accepts_plain_text(name: str, text: str) -> None:
    label = name if name.startswith("--") else f"--{name.replace(' ', '-')}"
    try:
        value = RULES[name](text, label)
    except contract.Invalid as exc:
        message = str(exc)
        assert message.startswith(label + ": ") and "expected" in message, message
        assert not contract.has_control(message) and len(message.splitlines()) == 1, message
        return
    if name in ("--web-password-file", "--signer-key", "--archive"):
        # A file name is only read, never written into a config: printable is enough.
        assert not contract.has_control(text)
        return
    for accepted in _strings(value):
        assert accepted in text
        assert all(c in ALLOWED + ",*:" for c in accepted), accepted


FOUR_NUMBERS = st.tuples(*[st.integers(0, 999)] * 4).map(lambda t: ".".join(map(str, t)))
DOTTED = st.one_of(
    FOUR_NUMBERS,
    FOUR_NUMBERS.map(lambda s: "0" + s),
    st.text(alphabet="0123456789.", max_size=16),
)


@PROPERTY
@given(text=st.one_of(DOTTED, TEXT))
def test_ipv4_is_what_the_ipaddress_module_reads_back_the_same(text: str) -> None:
    try:
        same = str(ipaddress.IPv4Address(text)) == text
    except ValueError:
        same = False
    assert contract.is_ipv4(text) == same


@PROPERTY
@given(text=st.one_of(TEXT, st.from_regex(r"[A-Za-z0-9.-]{1,300}", fullmatch=True)))
def test_an_accepted_dns_name_is_one_to_the_idna_codec(text: str) -> None:
    try:
        contract.check_address(text, "a")
    except contract.Invalid:
        return
    if not contract.is_ipv4(text):
        # The codec refuses empty labels and labels over 63 characters; ASCII stays as it is.
        assert text.encode("idna") == text.encode("ascii")
        assert len(text) <= 253


def _plain(
    manifest: dict[str, Any], values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same shape with plain values: the line structure every rendering must keep."""
    hosts = {h: f"h{i}" for i, h in enumerate(dict.fromkeys(values["zk_servers"]))}
    for h in [values["host"], *values["nimbus_hosts"]]:
        hosts.setdefault(h, f"h{len(hosts)}")
    plain = dict(values)
    plain.update(
        prefix="/p",
        user=None if values["user"] is None else "u",
        host=hosts[values["host"]],
        zk_servers=[hosts[h] for h in values["zk_servers"]],
        nimbus_hosts=[hosts[h] for h in values["nimbus_hosts"]],
        http_bind="b",
        java_home="/j",
        python="/py",
        launcher_python="/lp",
        site_dir="/p/python/site",
    )
    return dict(manifest, name="n"), plain


def _lines(files: list[tuple[str, str, int]]) -> dict[str, int]:
    return {rel: len(text.split("\n")) for rel, text, _ in files}


@PROPERTY
@given(case=cases())
def test_accepted_values_keep_every_file_whole_and_read_back(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    manifest, values = case
    files = configs.render(manifest, values)
    texts = {rel: text for rel, text, _ in files}
    for rel, text in texts.items():
        # No line break but "\n": splitlines() knows eight more, and none is there.
        assert text.splitlines() == text.split("\n")[:-1], rel
    assert _lines(files) == _lines(configs.render(*_plain(manifest, values)))

    prefix = values["prefix"]
    if "zookeeper" in values["roles"]:
        zoo = _zoo_cfg(texts["etc/zookeeper/zoo.cfg"])
        assert zoo["dataDir"] == prefix + "/data/zookeeper"
        assert zoo["clientPort"] == str(values["zk_ports"]["client"])
        if len(values["zk_servers"]) > 1:
            for zk_id, host in zip(values["zk_ids"], values["zk_servers"], strict=True):
                assert zoo[f"server.{zk_id}"].split(":")[0] == host
        assert texts["data/zookeeper/myid"] == f"{values['zk_id']}\n"

    if any(r in contract.STORM_ROLES for r in values["roles"]):
        storm = yaml.safe_load(texts["etc/storm/storm.yaml"])
        assert storm["storm.zookeeper.servers"] == values["zk_servers"]
        assert storm["storm.local.dir"] == prefix + "/data/storm"
        assert storm["supervisor.slots.ports"] == values["slots"]
        nimbus = storm.get("nimbus.seeds", storm.get("nimbus.host"))
        assert nimbus in (values["nimbus_hosts"], values["nimbus_hosts"][0])

    ini = _ini(texts["etc/supervisord.conf"])
    assert ini["unix_http_server"]["file"] == prefix + "/run/supervisord.sock"
    assert ini["inet_http_server"]["port"] == f"{values['http_bind']}:{values['http_port']}"
    for role, name, _ in configs.programs(values):
        program = ini[f"program:{name}"]
        assert program.get("user") == values["user"]
        assert program["stdout_logfile"] == f"{prefix}/logs/{name}.log"
        environment = dict_of_key_value_pairs(program["environment"])
        assert environment["JAVA_HOME"] == values["java_home"]
        if role != "zookeeper":
            launcher = manifest["components"]["storm"]["facts"]["launcher"]
            assert program["command"].split() == [
                values["launcher_python"],
                f"{prefix}/storm/{launcher}",
                role,
            ]

    stormctl = texts["bin/stormctl"].splitlines()
    assert shlex.split(stormctl[-1]) == [
        "exec",
        values["python"],
        "-S",
        values["site_dir"] + "/bin/supervisorctl",
        "-c",
        prefix + "/etc/supervisord.conf",
        "$@",
    ]
    assert f"PYTHONPATH='{values['site_dir']}'" in stormctl


def test_the_values_keys_are_all_drawn() -> None:
    """Every key of configs.VALUE_KEYS is drawn by cases(), so no value escapes the property."""
    source = Path(valuestrategies.__file__).read_text()
    for key in configs.VALUE_KEYS:
        assert f'"{key}":' in source, key
