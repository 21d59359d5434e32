"""install.sh's operator options --storm-option, --zk-option, --childopts and
--allow-unknown-key: parsed by flags.py, judged by extras.py's rules (the form at once, the key
against the bundle's key sets by the plan), laid over the inventory's values and rendered (the
installer refusing them in a process of its own: tests/integration/test_opflags.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bundler.onhost.errors import UsageError
from bundler.onhost.flags import CommandLineError, parse_args
from bundler.onhost.plan.model import Plan
from tests.support.hostfacts import RecordedBundle, RecordedFacts, make_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "three-zookeepers.toml"
IPV4 = "-Djava.net.preferIPv4Stack=true"


def plan(*flags: str, storm: str = "2.6.4", zookeeper: str = "3.8.4", **kw: Any) -> Plan:
    inventory = kw.pop("inventory", None)
    args = parse_args(["--bundle-dir", "/bundle", *flags])
    return make_plan(args, RecordedBundle(storm, zookeeper, inventory), RecordedFacts(**kw))


def files(p: Plan) -> dict[str, str]:
    return {rel: data.decode() for rel, data, _ in p.rendered}


# --- the command line ---


def test_options_are_repeatable_and_kept_in_order() -> None:
    args = parse_args(
        ["--bundle-dir", "/b", "--role", "all", "--storm-option", "topology.workers=2",
         "--storm-option=topology.debug=true", "--zk-option", "maxClientCnxns=100",
         "--childopts", f"nimbus={IPV4}", "--childopts", "nimbus=-Da=1",
         "--allow-unknown-key", "my.plugin", "--allow-unknown-key=other.plugin"]
    )  # fmt: skip
    assert args.storm_option == ["topology.workers=2", "topology.debug=true"]
    assert args.zk_option == ["maxClientCnxns=100"]
    assert args.childopts == [f"nimbus={IPV4}", "nimbus=-Da=1"]
    assert args.allow_unknown_key == ["my.plugin", "other.plugin"]


@pytest.mark.parametrize(
    ("option", "says"),
    [
        # An owned key names the option that sets it.
        (
            ("--storm-option", "nimbus.childopts=-Dx=1"),
            "--storm-option nimbus.childopts: bundler writes this key itself; it is set by "
            "--childopts nimbus=OPTS",
        ),
        (("--storm-option", "storm.local.dir=/x"), "it is set by --prefix"),
        (("--storm-option", "nimbus.seeds=[a]"), "it is set by --nimbus-host; drop this option"),
        (("--zk-option", "server.4=h:2888:3888"), "it is set by --zk-servers and --zk-id"),
        (("--zk-option", "clientPort=2182"), "it is set by an inventory's zk_client_port"),
        # Control characters, in a key or a value, never reach a file.
        (("--storm-option", "topology.name=a\x1bb"), "which has a control character"),
        (("--storm-option", "topo\x01logy=1"), "--storm-option: expected a storm.yaml key"),
        (("--zk-option", "maxClientCnxns=1\u2028"), "which has a control character"),
        (("--childopts", "nimbus=-Da=1\n-Db=2"), "--childopts nimbus: expected JVM options"),
        (("--allow-unknown-key", "my\tkey"), "--allow-unknown-key: expected a storm.yaml"),
        # Forms.
        (("--storm-option", "topology.workers"), "--storm-option: expected KEY=VALUE"),
        (("--zk-option", "=100"), "--zk-option: expected KEY=VALUE"),
        (("--zk-option", "maxClientCnxns=1\\0"), "without backslashes"),
        (("--childopts", "drpc=-Dx=1"), "--childopts: expected daemons among nimbus, ui"),
        (("--childopts", "worker=-Xmx2g"), "--childopts worker: carries -Xmx"),
        (("--storm-option", "topology.workers="), "found an empty string"),
    ],
)
def test_a_bad_option_is_refused_in_one_line(option: tuple[str, str], says: str) -> None:
    with pytest.raises(CommandLineError) as caught:
        parse_args(["--bundle-dir", "/b", "--role", "all", *option])
    message = str(caught.value)
    assert says in message, message
    assert "\n" not in message and "\x1b" not in message and "\x01" not in message


def test_help_lists_the_options() -> None:
    from bundler.onhost.flags import USAGE

    for flag in ("--storm-option KEY=VALUE", "--zk-option KEY=VALUE", "--childopts DAEMON=OPTS",
                 "--allow-unknown-key KEY"):  # fmt: skip
        assert f"\n  {flag}" in USAGE and f"[{flag}]..." in USAGE, flag


def test_uninstall_takes_no_option() -> None:
    with pytest.raises(CommandLineError, match="--uninstall takes only"):
        parse_args(["--bundle-dir", "/b", "--uninstall", "--zk-option", "maxClientCnxns=1"])


# --- judged against the bundle's key sets, by the plan ---


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (("--storm-option", "topology.workrs=2"), "did you mean topology.workers?"),
        (("--storm-option", "nimbus.sed=1"), "--storm-option nimbus.sed: not a key this release"),
        (("--zk-option", "maxClientCnx=100"), "did you mean maxClientCnxns?"),
    ],
)
def test_a_key_the_release_does_not_know_names_the_closest(
    option: tuple[str, str], says: str
) -> None:
    with pytest.raises(UsageError) as caught:
        plan("--role", "all", *option)
    assert says in str(caught.value) and "--allow-unknown-key" in str(caught.value)


def test_a_key_of_another_era_is_refused() -> None:
    # 3.4 has no AdminServer, 2.x no nimbus.host.
    with pytest.raises(UsageError, match=r"--zk-option admin\.enableServer: not a key"):
        plan("--role", "all", "--zk-option", "admin.enableServer=false", zookeeper="3.4.14")
    assert plan("--role", "all", "--zk-option", "admin.enableServer=false").problems == []


def test_allow_unknown_key_admits_a_plugin_key() -> None:
    p = plan(
        "--role", "all", "--storm-option", "my.plugin.url=http://x", "--zk-option",
        "my.zk.plugin=on", "--allow-unknown-key", "my.plugin.url",
        "--allow-unknown-key", "my.zk.plugin",
    )  # fmt: skip
    out = files(p)
    assert 'my.plugin.url: "http://x"' in out["etc/storm/storm.yaml"]
    assert "\nmy.zk.plugin=on\n" in out["etc/zookeeper/zoo.cfg"]


# --- into the plan's values and the files ---


def test_the_options_reach_the_values_and_the_files() -> None:
    p = plan(
        "--role", "all", "--childopts", f"nimbus={IPV4}", "--storm-option", "topology.workers=2",
        "--zk-option", "maxClientCnxns=100", memory=8192,
    )  # fmt: skip
    assert p.values is not None
    assert p.values["storm_options"] == {"topology.workers": 2}
    assert p.values["zk_options"] == {"maxClientCnxns": "100"}
    assert p.values["childopts_extra"] == {"nimbus": IPV4}
    out = files(p)
    yaml = out["etc/storm/storm.yaml"]
    assert f'nimbus.childopts: "-Xmx1024m {IPV4}"' in yaml
    assert 'ui.childopts: "-Xmx512m"' in yaml
    assert yaml.endswith(
        "# Extra keys from the cluster inventory or install.sh options.\ntopology.workers: 2\n"
    )
    assert out["etc/zookeeper/zoo.cfg"].endswith(
        "# Extra keys from the cluster inventory or install.sh options.\nmaxClientCnxns=100\n"
    )
    # Without options nothing of this is written.
    plain = files(plan("--role", "all", memory=8192))
    assert "Extra keys" not in plain["etc/storm/storm.yaml"] + plain["etc/zookeeper/zoo.cfg"]


def test_a_replaceable_zoo_cfg_key_replaces_the_default_in_place() -> None:
    zoo = files(plan("--role", "all", "--zk-option", "tickTime=3000"))["etc/zookeeper/zoo.cfg"]
    assert "tickTime=3000\n" in zoo and "tickTime=2000" not in zoo
    assert "Extra keys" not in zoo


def test_flags_are_laid_over_the_inventory_key_by_key(tmp_path: Path) -> None:
    toml = tmp_path / "cluster.toml"
    toml.write_text(
        EXAMPLE.read_text()
        + "\n"
        + "\n".join(
            [
                "[cluster.storm_options]",
                '"topology.workers" = 3',
                '"topology.debug" = true',
                "[cluster.childopts_extra]",
                f'worker = "{IPV4}"',
            ]
        )
        + "\n"
    )
    p = plan(
        "--host", "worker3", "--storm-option", "topology.workers=5", "--childopts",
        "nimbus=-Da=1", inventory=toml, hostname="worker3",
    )  # fmt: skip
    assert p.values is not None
    assert p.values["storm_options"] == {"topology.workers": 5, "topology.debug": True}
    assert p.values["childopts_extra"] == {"worker": IPV4, "nimbus": "-Da=1"}
    # The inventory alone reaches the files too.
    alone = plan("--host", "worker3", inventory=toml, hostname="worker3")
    assert alone.values is not None
    assert alone.values["storm_options"] == {"topology.workers": 3, "topology.debug": True}
    yaml = files(alone)["etc/storm/storm.yaml"].splitlines()
    worker = next(line for line in yaml if line.startswith("worker.childopts:"))
    assert worker.startswith('worker.childopts: "-Xmx%HEAP-MEM%m') and worker.endswith(f' {IPV4}"')


def test_a_rerun_without_the_options_says_which_keys_it_drops() -> None:
    first = plan("--role", "all", "--storm-option", "topology.workers=2", "--zk-option",
                 "maxClientCnxns=100")  # fmt: skip
    state = {"prefix": "/opt/storm", "roles": list(first.roles), "values": first.values,
             "socket": "/opt/storm/run/s.sock"}  # fmt: skip
    where: dict[str, Any] = {"states": {"/opt/storm": state}, "listings": {"/opt/storm": ["state"]}}
    again = plan("--role", "all", "--zk-option", "maxClientCnxns=100", **where)
    assert again.values is not None and again.values["storm_options"] == {}
    dropped = [n for n in again.notes if "the last run set" in n]
    assert dropped == [
        "the last run set storm_options topology.workers, this one does not (give the option "
        "again to keep it)"
    ]
    same = plan("--role", "all", "--storm-option", "topology.workers=2", "--zk-option",
                "maxClientCnxns=100", **where)  # fmt: skip
    assert not [n for n in same.notes if "the last run set" in n]
    assert same.rendered == first.rendered
