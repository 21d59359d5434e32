"""Property tests of contract.py's rules, with hypothesis.

1. Any text at all (random unicode, control characters, YAML/INI/shell metacharacters) either
   is refused with one line naming the value, or is accepted unchanged and is plain ASCII with
   no control character.
2. Whatever the rules accept, rendered by the real renderer (configs.render) into zoo.cfg,
   myid, storm.yaml, supervisord.conf, stormctl and the systemd unit, keeps every file's line
   structure (the same lines as with plain values) and reads back as the same value: zoo.cfg
   as ZooKeeper's key=value lines, storm.yaml through PyYAML, supervisord.conf through
   configparser and supervisord's own parser, stormctl through shlex and `sh -n`.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
import string
import subprocess
import sys
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
from bundler.recipes.recipes import Recipe
from tests.support.configfiles import supervisord_ini as _ini
from tests.support.configfiles import zoo_cfg as _zoo_cfg

# Characters that mean something to YAML, INI, supervisord, systemd or a shell, line breaks of
# every kind (str.splitlines() knows eight), and look-alikes (Kelvin sign, Arabic-Indic one).
NASTY = (
    "\n\r\t\x00\x0b\x0c\x1c\x1d\x1e\x7f\x85\u2028\u2029"
    " '\"`$;&|<>#%{}[]():,=@!*?~\\^"
    "\u00e9\u212a\u0661\ufeff"
)
ALLOWED = string.ascii_letters + string.digits + "._+-/"
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


# --- what the rules accept, through the renderer ---


def _accepted(rule: Callable[[Any, str], Any], strategy: st.SearchStrategy[str]) -> Any:
    def ok(value: str) -> bool:
        try:
            rule(value, "x")
        except contract.Invalid:
            return False
        return True

    return strategy.filter(ok)


def _sprinkled(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values of `strategy`, half of them with one NASTY character put in somewhere: what the
    rules let through of those reaches the files below too."""
    return st.tuples(
        strategy, st.one_of(st.just(""), st.sampled_from(NASTY)), st.integers(0, 999)
    ).map(lambda t: t[0][: t[2] % (len(t[0]) + 1)] + t[1] + t[0][t[2] % (len(t[0]) + 1) :])


# Names a YAML or INI reader would turn into something else if they were written bare.
TRICKY_NAMES = ["true", "null", "yes", "no", "on", "off", "y", "nan", "inf", "1e3", "0x1f", "0o7"]
LABEL = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
IPV4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
DNS = st.one_of(
    st.sampled_from(TRICKY_NAMES),
    st.lists(st.one_of(LABEL, st.sampled_from(TRICKY_NAMES)), min_size=1, max_size=4).map(".".join),
)
ADDRESS = _accepted(contract.check_address, _sprinkled(st.one_of(IPV4, DNS)))
BIND = _accepted(contract.check_bind_address, _sprinkled(st.one_of(IPV4, DNS, st.just("*"))))
PART = st.text(alphabet=ALLOWED.replace("/", ""), min_size=1, max_size=12)
PATH = _accepted(
    contract.check_path,
    _sprinkled(st.lists(PART, min_size=1, max_size=5).map(lambda p: "/" + "/".join(p))),
)
PREFIX = _accepted(contract.check_prefix, PATH)
USER = _accepted(
    contract.check_user, _sprinkled(st.from_regex(r"[a-z_][a-z0-9_-]{0,31}", fullmatch=True))
)
CLUSTER = _accepted(
    contract.check_cluster_name,
    _sprinkled(st.from_regex(r"[a-z0-9][a-z0-9-]{0,39}", fullmatch=True)),
)
PORT = st.integers(*contract.PORT_RANGE)
RELEASES = [("2.6.4", "3.8.4"), ("0.9.5", "3.4.6"), ("1.2.4", "3.5.10")]


def _component(project: str, version: str) -> dict[str, Any]:
    comp = Recipe.load(project).resolve(version)
    return {"version": comp.version, "line": comp.line, "facts": dict(comp.facts)}


MANIFESTS = {
    pair: {
        "schema": 1,
        "components": {
            "storm": _component("storm", pair[0]),
            "zookeeper": _component("zookeeper", pair[1]),
        },
    }
    for pair in RELEASES
}


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    release = draw(st.sampled_from(RELEASES))
    manifest = dict(MANIFESTS[release])
    manifest["name"] = f"storm-{release[0]}-zk-{release[1]}-{draw(CLUSTER)}"
    roles = draw(
        st.lists(st.sampled_from(contract.ROLES), min_size=1, max_size=6, unique=True).map(
            lambda picked: [r for r in contract.ROLES if r in picked]
        )
    )
    zk_servers = draw(st.lists(ADDRESS, min_size=1, max_size=4, unique_by=str.lower))
    zk_ids = draw(
        st.lists(
            st.integers(*contract.ZK_ID_RANGE),
            min_size=len(zk_servers),
            max_size=len(zk_servers),
            unique=True,
        )
    )
    me = draw(st.integers(0, len(zk_servers) - 1))
    storm = any(r in contract.STORM_ROLES for r in roles)
    nimbus_hosts = draw(
        st.lists(
            ADDRESS, min_size=1, max_size=1 if release[0] == "0.9.5" else 3, unique_by=str.lower
        )
    )
    zk_ports = draw(st.lists(PORT, min_size=3, max_size=3, unique=True))
    prefix = draw(PREFIX)
    values = {
        "prefix": prefix,
        "user": draw(st.one_of(st.none(), USER)),
        "roles": roles,
        "host": zk_servers[me] if "zookeeper" in roles else draw(ADDRESS),
        "zk_servers": zk_servers,
        "zk_ids": zk_ids,
        "zk_id": zk_ids[me] if "zookeeper" in roles else None,
        "zk_ports": dict(zip(("client", "peer", "election"), zk_ports, strict=True), admin=None),
        "nimbus_hosts": nimbus_hosts if storm or draw(st.booleans()) else [],
        "http_bind": draw(BIND),
        "http_port": draw(PORT),
        "web_password_sha1": draw(st.from_regex(r"[0-9a-f]{40}", fullmatch=True)),
        "java_home": draw(PATH),
        "java_major": draw(st.sampled_from([8, 11, 17, 21])),
        "memory_mb": draw(st.integers(*contract.MEMORY_MB_RANGE)),
        "python": draw(PATH),
        "launcher_python": draw(PATH),
        "site_dir": prefix + "/python/site",
        "slots": draw(st.lists(PORT, min_size=1, max_size=4, unique=True)),
        "heaps": draw(st.dictionaries(st.sampled_from(contract.HEAP_KEYS), st.integers(64, 4096))),
    }
    return manifest, values


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


# supervisord's own parser and the shell's, in subprocesses: fewer examples.
PARSE = """
import json, sys
from supervisor.options import ServerOptions
opts = ServerOptions()
opts.realize(args=["-c", sys.argv[1]])
print(json.dumps({
    "programs": [
        {"name": p.name, "directory": p.directory, "environment": p.environment,
         "command": p.command, "user": p.uid}
        for g in opts.process_group_configs for p in g.process_configs
    ],
    "servers": [
        {k: v for k, v in s.items() if k in ("host", "port", "file")}
        for s in opts.server_configs
    ],
}))
"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_supervisord_and_the_shell_read_what_the_rules_accept(
    case: tuple[dict[str, Any], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    manifest, values = case
    # supervisord checks that the user and the log folders exist: no user, and the drawn
    # prefix moved under a real folder.
    folder = tmp_path_factory.mktemp("conf")
    prefix = f"{folder}{values['prefix']}"
    if len(prefix) > contract.PREFIX_MAX:
        prefix = f"{folder}/p"
    (Path(prefix) / "logs").mkdir(parents=True)
    (Path(prefix) / "run").mkdir()
    values = dict(values, user=None, prefix=prefix, site_dir=prefix + "/python/site")
    texts = {rel: text for rel, text, _ in configs.render(manifest, values)}
    conf = folder / "supervisord.conf"
    conf.write_text(texts["etc/supervisord.conf"])
    run = subprocess.run(
        [sys.executable, "-c", PARSE, str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    parsed = json.loads(run.stdout)
    servers = {s.get("file") or f"{s['host']}:{s['port']}" for s in parsed["servers"]}
    # supervisord lower-cases the host name (DNS names are case-insensitive); * is any address.
    bind = "" if values["http_bind"] == "*" else values["http_bind"].lower()
    assert servers == {prefix + "/run/supervisord.sock", f"{bind}:{values['http_port']}"}
    for program in parsed["programs"]:
        assert program["directory"].startswith(prefix + "/data/")
        assert program["environment"]["JAVA_HOME"] == values["java_home"]
    stormctl = folder / "stormctl"
    stormctl.write_text(texts["bin/stormctl"])
    check = subprocess.run(["sh", "-n", str(stormctl)], capture_output=True, check=False)
    assert check.returncode == 0, check.stderr


def test_the_values_keys_are_all_drawn() -> None:
    """Every key of configs.VALUE_KEYS is drawn above, so no value escapes the property."""
    source = Path(__file__).read_text()
    for key in configs.VALUE_KEYS:
        assert f'"{key}":' in source, key
