"""onhost/contract/contract.py: one definition of the roles, presets, exit codes and value rules,
and every layer that takes an operator's value (cluster.toml, `bundler render`, the bundle's
name, the config writers, the host's cluster.json) giving the same verdict through it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bundler.errors import ExitCode, UsageError
from bundler.onhost.contract import cluster, contract
from bundler.onhost.render import configs
from bundler.pack.build import bundle_name
from bundler.recipes.inventory import load, normalise
from bundler.recipes.recipes import Recipe
from tests.support.configfiles import render_values

ROOT = Path(__file__).resolve().parents[2]
ONHOST = ROOT / "bundler" / "onhost"
STORM = Recipe.load("storm").resolve("2.6.4")
ZOOKEEPER = Recipe.load("zookeeper").resolve("3.8.4")


# --- the disagreements of issue 10, one verdict now ---

# (kind, value, accepted): every layer below must give this verdict.
VERDICTS: list[tuple[str, str, bool]] = [
    ("prefix", "/opt/storm", True),
    ("prefix", "/opt/st@rm", False),  # passed install.sh, not the config writer
    ("prefix", "/opt/st:rm", False),
    ("prefix", "/opt/storm\n", False),
    ("prefix", "/opt/../storm", False),
    ("prefix", "/opt/./storm", False),
    ("prefix", "/opt//storm", False),
    # "/opt/storm/" as typed is normalised (below); in values and cluster.json it is refused.
    ("prefix", "/", False),
    ("prefix", "/" + "a" * 80, False),
    ("user", "storm", True),
    ("user", "_storm-2", True),
    ("user", "Storm", False),  # passed the config writer, not install.sh
    ("user", "st.orm", False),
    ("user", "storm\n", False),
    ("user", "2storm", False),
    ("user", "s" * 33, False),
    ("address", "10.0.0.2", True),
    ("address", "zk-1.example.org", True),
    ("address", "zk_1", False),  # passed install.sh, not the config writer
    ("address", "999.1.1.1", False),
    ("address", "10.0.0.256", False),
    ("address", "010.0.0.1", False),
    ("address", "1.2.3", False),
    ("address", "10.0.0.2\n", False),
    ("address", "a" * 300 + ".example.org", False),
    ("address", "a" * 63 + ".example.org", True),
    ("address", "a" * 64 + ".example.org", False),
    ("address", ".".join(["a" * 63] * 4), False),  # 255 characters
    ("address", "-zk.example.org", False),
    ("address", "zk-.example.org", False),
    ("address", "zk..example.org", False),
    ("address", "zk\u2028.org", False),
    ("address", "0.0.0.0", False),
]

CONTRACT_RULE = {
    "prefix": contract.check_prefix,
    "user": contract.check_user,
    "address": contract.check_address,
}


def _ids(case: tuple[str, str, bool]) -> str:
    kind, value, ok = case
    return f"{kind}-{value[:20]!r}-{'ok' if ok else 'refused'}"


@pytest.mark.parametrize("case", VERDICTS, ids=_ids)
def test_the_contract_rule(case: tuple[str, str, bool]) -> None:
    kind, value, ok = case
    if ok:
        assert CONTRACT_RULE[kind](value, "--x") == value
    else:
        with pytest.raises(contract.Invalid) as info:
            CONTRACT_RULE[kind](value, "--x")
        _one_line(str(info.value), "--x: ")


def _one_line(message: str, start: str) -> None:
    assert message.startswith(start), message
    assert "\n" not in message and not contract.has_control(message), message
    assert "expected" in message, message


def _values(kind: str, value: str) -> dict[str, Any]:
    values = render_values()
    if kind == "address":
        values.update(host=value, zk_servers=[value], nimbus_hosts=[value])
    else:
        values[kind] = value
    return values


@pytest.mark.parametrize("case", VERDICTS, ids=_ids)
def test_the_config_writer_agrees(case: tuple[str, str, bool]) -> None:
    kind, value, ok = case
    manifest = {
        "schema": 1,
        "name": "b",
        "components": {
            "storm": {"version": STORM.version, "facts": dict(STORM.facts)},
            "zookeeper": {"version": ZOOKEEPER.version, "facts": dict(ZOOKEEPER.facts)},
        },
    }
    if ok:
        configs.render(manifest, _values(kind, value))
    else:
        key = "host" if kind == "address" else kind
        with pytest.raises(ValueError) as info:
            configs.render(manifest, _values(kind, value))
        _one_line(str(info.value), f"values['{key}']: ")


def _toml(text: str) -> str:
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


def _inventory(tmp_path: Path, kind: str, value: str) -> Path:
    cluster_line = {"prefix": f"prefix = {_toml(value)}", "user": f"user = {_toml(value)}"}
    address = _toml(value) if kind == "address" else '"10.0.0.2"'
    path = tmp_path / "cluster.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [cluster]
            storm = "2.6.4"
            zookeeper = "3.8.4"
            {cluster_line.get(kind, "")}

            [[host]]
            name = "zk1"
            address = "10.0.0.1"
            roles = ["zookeeper", "nimbus", "ui"]

            [[host]]
            name = "zk2"
            address = {address}
            roles = ["supervisor"]
            """
        )
    )
    return path


@pytest.mark.parametrize("case", VERDICTS, ids=_ids)
def test_the_inventory_agrees(case: tuple[str, str, bool], tmp_path: Path) -> None:
    kind, value, ok = case
    path = _inventory(tmp_path, kind, value)
    if ok:
        normalise(load(path), STORM.facts, ZOOKEEPER.facts)
        return
    with pytest.raises(UsageError) as info:
        normalise(load(path), STORM.facts, ZOOKEEPER.facts)
    where = "host zk2: address" if kind == "address" else f"[cluster] {kind}"
    _one_line(str(info.value), f"{path}: {where}: ")
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("case", VERDICTS, ids=_ids)
def test_the_hosts_cluster_json_agrees(case: tuple[str, str, bool]) -> None:
    kind, value, ok = case
    entry: dict[str, Any] = {"name": "zk1", "address": "10.0.0.1", "roles": ["zookeeper"]}
    entry[kind] = value
    inventory = {"schema": 1, "hosts": [entry]}
    if ok:
        cluster.check(inventory)
    else:
        with pytest.raises(ValueError) as info:
            cluster.check(inventory)
        _one_line(str(info.value), f"cluster.json: host #1 {kind}: ")


# --- newlines in cluster.toml never reach a file or the bundle's name ---


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('name = "t\\n"', "[cluster] name"),
        ('name = "t\\r"', "[cluster] name"),
        ('user = "storm\\n"', "[cluster] user"),
        ('prefix = "/opt/storm\\n"', "[cluster] prefix"),
    ],
)
def test_a_control_character_in_cluster_toml_is_refused(
    tmp_path: Path, line: str, where: str
) -> None:
    path = _inventory(tmp_path, "none", "")
    path.write_text(path.read_text().replace("[cluster]\n", f"[cluster]\n{line}\n", 1))
    with pytest.raises(UsageError) as info:
        normalise(load(path), STORM.facts, ZOOKEEPER.facts)
    _one_line(str(info.value), f"{path}: {where}: ")
    assert "control character" in str(info.value)


def test_the_bundle_name_is_a_plain_file_name() -> None:
    assert bundle_name(STORM, ZOOKEEPER, "prod-1") == "storm-2.6.4-zk-3.8.4-prod-1"
    for bad in ("t\n", "Prod", "a/b", "-x", "x" * 41, ""):
        with pytest.raises(UsageError) as info:
            bundle_name(STORM, ZOOKEEPER, bad)
        _one_line(str(info.value), "[cluster] name: ")


# --- the rules themselves ---


@pytest.mark.parametrize(
    ("text", "bounds", "value"),
    [("1", (1, 255), 1), ("255", (1, 255), 255), ("65535", contract.PORT_RANGE, 65535)],
)
def test_parse_int_takes_ascii_digits(text: str, bounds: tuple[int, int], value: int) -> None:
    assert contract.parse_int(text, "--zk-id", bounds) == value


# Each of these int() would take.
@pytest.mark.parametrize("text", ["0", "256", " 1", "1\n", "+1", "1_0", "\u0661", "", "1.0", "-1"])
def test_parse_int_refuses_what_int_would_stretch(text: str) -> None:
    with pytest.raises(contract.Invalid) as info:
        contract.parse_int(text, "--zk-id", contract.ZK_ID_RANGE)
    _one_line(str(info.value), "--zk-id: ")


def test_int_rules_refuse_bools_and_floats() -> None:
    for bad in (True, 1.0, "1", None):
        with pytest.raises(contract.Invalid):
            contract.check_port(bad, "port")
    assert contract.check_zk_id(255, "id") == 255
    with pytest.raises(contract.Invalid):
        contract.check_zk_id(256, "id")


def test_host_lists_and_binds() -> None:
    assert contract.parse_host_list("a,b.c,10.0.0.1", "--zk-servers") == ["a", "b.c", "10.0.0.1"]
    for bad in ("a,,b", "a,", ",a", "a,a", "zk_1", "a b", "a,b\n"):
        with pytest.raises(contract.Invalid) as info:
            contract.parse_host_list(bad, "--zk-servers")
        _one_line(str(info.value), "--zk-servers: ")
    assert contract.parse_bind("0.0.0.0", "--supervisord-ui-bind", 9001) == ("0.0.0.0", 9001)
    assert contract.parse_bind("*:9002", "--supervisord-ui-bind", 9001) == ("*", 9002)
    for bad in ("1.2.3.4:99999", "1.2.3.4:", ":80", "a,b", "1.2.3.4:80\n", "::1"):
        with pytest.raises(contract.Invalid):
            contract.parse_bind(bad, "--supervisord-ui-bind", 9001)


def test_slots_and_heaps() -> None:
    assert contract.check_slots([6700, 6701], "slots") == [6700, 6701]
    for bad in ([], [6700, 6700], [0], [70000], "6700", [True]):
        with pytest.raises(contract.Invalid):
            contract.check_slots(bad, "slots")
    assert contract.check_heaps({"worker": 1024}, "heaps") == {"worker": 1024}
    for heaps in ({"drpc": 512}, {"nimbus": 32}, {"ui": "512"}, None):
        with pytest.raises(contract.Invalid):
            contract.check_heaps(heaps, "heaps")


def test_a_long_value_is_shown_cut_and_counted() -> None:
    with pytest.raises(contract.Invalid) as info:
        contract.check_address("a" * 300, "address")
    message = str(info.value)
    assert "... (300 characters)" in message and len(message) < 300


def test_roles_presets_and_their_expansion() -> None:
    assert contract.parse_roles("nimbus,ui") == ["nimbus", "ui"]
    here, elsewhere = (lambda: True), (lambda: False)
    assert contract.expand_roles(["all"], elsewhere) == list(contract.ROLES)
    assert contract.expand_roles(["nimbus"], elsewhere) == ["nimbus", "supervisor", "ui"]
    assert contract.expand_roles(["nimbus"], here) == ["zookeeper", "nimbus", "supervisor", "ui"]
    assert contract.expand_roles(["supervisor"], here) == ["supervisor"]
    assert contract.expand_roles(["ui", "zookeeper"], elsewhere) == ["zookeeper", "ui"]
    assert contract.expand_roles([], here) == []
    for bad in ("storm", "nimbus,,ui", "", "ui,ui", "nimbus\n"):
        with pytest.raises(contract.Invalid) as info:
            contract.parse_roles(bad)
        _one_line(str(info.value), "--role: ")


# --- one definition ---


def test_the_build_sides_exit_codes_are_the_contracts() -> None:
    assert [(e.name, int(e)) for e in ExitCode] == [(n, c) for n, c, _ in contract.EXIT_CODES]
    assert contract.exit_codes_text().startswith("0 ok, 1 error, 2 usage, 3 ")


def test_the_installers_own_exit_codes_are_the_contracts() -> None:
    """install.sh cannot import Python: the codes it keeps for its own bootstrap failures must
    be the contract's. The Python installer takes its codes from contract.py."""
    table = {f"EXIT_{name}": code for name, code, _ in contract.EXIT_CODES}
    text = (ONHOST / "install.sh").read_text()
    found = dict(re.findall(r"^(EXIT_[A-Z]+) ?= ?(\d+)$", text, re.M))
    assert {k: table.get(k) for k in found} == {k: int(v) for k, v in found.items()}
    from bundler.onhost import errors as onhost_errors

    for name, code, _ in contract.EXIT_CODES:
        assert getattr(onhost_errors, f"EXIT_{name}") == code
    for path in sorted(ONHOST.rglob("*.py")):
        found = dict(re.findall(r"^(EXIT_[A-Z]+) ?= ?(\d+)$", path.read_text(), re.M))
        if path.name == "bundlesig.py":
            # Runs alone, before the package is trusted: its codes must be the table's.
            assert {k: table.get(k) for k in found} == {k: int(v) for k, v in found.items()}
        elif path.name != "contract.py":
            assert not found, path


def test_the_exit_code_page_lists_every_exit_code() -> None:
    page = (ROOT / "docs" / "reference" / "exit-codes.md").read_text()
    for _, code, _ in contract.EXIT_CODES:
        assert re.search(rf"^\| {code} \|", page, re.M), code


def test_roles_are_defined_once() -> None:
    """The daemon list is written out in contract.py only; other modules take it from there."""
    literal = re.compile(r'"zookeeper",\s*"nimbus",\s*"supervisor"')
    own = [
        p.relative_to(ROOT).as_posix()
        for p in sorted((ROOT / "bundler").rglob("*.py"))
        if literal.search(p.read_text())
    ]
    assert own == ["bundler/onhost/contract/contract.py"]
    assert configs.ROLES is contract.ROLES
    import bundler.recipes.inventory as inventory
    from bundler.onhost import flags
    from bundler.onhost.render import roles

    assert inventory.ROLES is contract.ROLES
    assert roles.DAEMONS is contract.ROLES
    assert flags.ROLE_NAMES is contract.ROLE_WORDS
    assert not re.search(r"^ROLES=", (ONHOST / "install.sh").read_text(), re.M)


def test_value_patterns_are_defined_once() -> None:
    """No regex of a value rule outside contract.py (the old ones were anchored with `$`)."""
    old = re.compile(r"^(SAFE_PATH|HOSTNAME|USERNAME|CLUSTER_NAME|IPV4) = ", re.M)
    for path in sorted((ROOT / "bundler").rglob("*.py")):
        if path.name == "contract.py":
            continue
        text = path.read_text()
        assert not old.search(text), path


# --- the installer's flags ---


def test_every_installer_flag_with_a_value_has_a_rule() -> None:
    """contract.FLAG_RULES covers each flag of the installer that takes a value."""
    from bundler.onhost import flags

    assert set(flags.VALUE_FLAGS) - {"--bundle-dir"} == set(contract.FLAG_RULES)


@pytest.mark.parametrize(
    ("flag", "text", "value"),
    [
        ("--role", "nimbus,ui", ["nimbus", "ui"]),
        ("--prefix", "/opt/storm", "/opt/storm"),
        ("--user", "storm", "storm"),
        ("--zk-servers", "10.0.0.1,zk2", ["10.0.0.1", "zk2"]),
        ("--zk-id", "3", 3),
        ("--nimbus-host", "n1", ["n1"]),
        ("--supervisord-ui-bind", "0.0.0.0:9002", ("0.0.0.0", 9002)),
        ("--supervisord-ui-bind", "10.0.0.1", ("10.0.0.1", None)),
        ("--init", "systemd", "systemd"),
        ("--python", "/usr/bin/python3", "/usr/bin/python3"),
        ("--timeout", "180", 180),
        ("--peer-timeout", "0", 0),
        ("--host", "storm1", "storm1"),
        ("--web-password-file", "pass word.txt", "pass word.txt"),
    ],
)
def test_check_flag_converts(flag: str, text: str, value: Any) -> None:
    assert contract.check_flag(flag, text) == value


@pytest.mark.parametrize(
    ("flag", "text"),
    [
        ("--role", "storm"),
        ("--prefix", "/opt/st@rm"),
        ("--prefix", "opt/storm"),
        ("--user", "Storm"),
        ("--zk-servers", "zk_1"),
        ("--zk-servers", "999.1.1.1"),
        ("--zk-id", "0"),
        ("--nimbus-host", "a b"),
        ("--supervisord-ui-bind", "1.2.3.4:99999"),
        ("--init", "upstart"),
        ("--python", "python3"),
        ("--timeout", "0"),
        ("--timeout", "soon"),
        ("--peer-timeout", "-1"),
        ("--host", "storm1\n"),
        ("--web-password-file", "pw\n"),
    ],
)
def test_check_flag_refuses_in_one_line(flag: str, text: str) -> None:
    with pytest.raises(contract.Invalid) as info:
        contract.check_flag(flag, text)
    _one_line(str(info.value), f"{flag}: ")


def test_a_prefix_with_trailing_slashes_is_normalised_not_refused() -> None:
    """As an operator types it (--prefix, cluster.toml); what the installer was given as
    values, normalised already, stays strict."""
    with pytest.raises(contract.Invalid):
        contract.check_prefix("/srv/storm/", "prefix")
    assert contract.check_flag("--prefix", "/srv/storm/") == "/srv/storm"
    assert contract.check_flag("--prefix", "/srv/storm//") == "/srv/storm"
    for bad in ("/", "//", "srv/storm/", "/srv//storm"):
        with pytest.raises(contract.Invalid):
            contract.check_flag("--prefix", bad)
