"""plan.make_plan: every decision of an installation, from recorded host facts (no root,
network, processes or files): roles and presets, ids and addresses, prefixes, users, Java and
Pythons, ports, and the files each era renders, for single nodes and cluster inventories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bundler.onhost.errors import UsageError
from bundler.onhost.flags import parse_args
from bundler.onhost.host.facts import suggested_java
from bundler.onhost.plan.model import Plan
from tests.support.hostfacts import RecordedBundle, RecordedFacts, make_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "three-zookeepers.toml"
ALL = ["zookeeper", "nimbus", "supervisor", "ui", "logviewer", "drpc"]
# Storm and ZooKeeper of each era the recipes know: nimbus.host and ZooKeeper 3.4; the 1.x
# line; 2.x with an AdminServer beside the UI.
ERAS = [("0.9.5", "3.4.6"), ("1.2.4", "3.4.14"), ("2.6.4", "3.8.4")]


def plan(
    *flags: str,
    storm: str = "2.6.4",
    zookeeper: str = "3.8.4",
    inventory: Path | None = None,
    **facts: Any,
) -> Plan:
    args = parse_args(["--bundle-dir", "/bundle", *flags])
    return make_plan(args, RecordedBundle(storm, zookeeper, inventory), RecordedFacts(**facts))


def files(p: Plan) -> dict[str, str]:
    return {rel: data.decode() for rel, data, _ in p.rendered}


# --- roles and presets ---


@pytest.mark.parametrize(("storm", "zookeeper"), ERAS)
def test_all_is_a_single_node_cluster_on_loopback(storm: str, zookeeper: str) -> None:
    p = plan("--role", "all", storm=storm, zookeeper=zookeeper)
    assert p.problems == []
    assert list(p.roles) == ALL
    assert (p.host, p.zk_id, list(p.zk_servers), list(p.nimbus_hosts)) == (
        "127.0.0.1",
        1,
        ["127.0.0.1"],
        ["127.0.0.1"],
    )
    assert (p.prefix, p.user, p.init, p.java_home) == (
        "/opt/storm",
        "storm",
        "none",
        "/usr/lib/jvm/java-11",
    )
    assert p.program_order[0] == "zookeeper" and len(p.program_order) == 6
    out = files(p)
    assert "server.1=" not in out["etc/zookeeper/zoo.cfg"]  # standalone
    nimbus_key = "nimbus.host" if storm.startswith("0.") else "nimbus.seeds"
    assert nimbus_key in out["etc/storm/storm.yaml"]
    assert out["data/zookeeper/myid"].strip() == "1"


def test_nimbus_preset_takes_zookeeper_only_when_this_host_is_in_the_ensemble() -> None:
    local = plan("--role", "nimbus")
    assert list(local.roles) == ["zookeeper", "nimbus", "supervisor", "ui"]
    remote = plan("--role", "nimbus", "--zk-servers", "10.0.0.11,10.0.0.12,10.0.0.13")
    assert list(remote.roles) == ["nimbus", "supervisor", "ui"]
    assert remote.zk_id is None and remote.host == "127.0.0.1"


def test_a_list_of_roles_is_taken_exactly_in_start_order() -> None:
    p = plan("--role", "ui,supervisor,zookeeper")
    assert list(p.roles) == ["zookeeper", "supervisor", "ui"]
    assert list(p.program_order) == ["zookeeper", "storm-supervisor", "storm-ui"]


def test_no_role_checks_only() -> None:
    p = plan("--check")
    assert p.roles == [] and p.rendered == []
    assert "no --role given: ports not checked" in p.notes


# --- ensembles from flags ---


def test_zk_id_from_the_one_local_address_of_the_ensemble() -> None:
    servers = "10.0.0.11,10.0.0.12,10.0.0.13"
    p = plan("--role", "zookeeper", "--zk-servers", servers, addresses={"10.0.0.12"})
    assert (p.zk_id, p.host) == (2, "10.0.0.12")
    zoo = files(p)["etc/zookeeper/zoo.cfg"]
    assert "server.1=10.0.0.11:2888:3888;2181" in zoo and "server.3=" in zoo


def test_zk_id_unknown_is_a_problem_with_its_fix() -> None:
    p = plan("--role", "zookeeper", "--zk-servers", "10.0.0.11,10.0.0.12")
    assert p.rendered == []
    assert p.problems == [
        "cannot tell which of --zk-servers 10.0.0.11,10.0.0.12 is this host (none match); "
        "fix: pass --zk-id N, N being this host's place in that list"
    ]


def test_two_nimbus_hosts_on_a_nimbus_host_release_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"Storm 0\.9\.5 has a single Nimbus"):
        plan("--role", "all", "--nimbus-host", "a,b", storm="0.9.5", zookeeper="3.4.6")


def test_an_other_host_is_named_by_its_fqdn() -> None:
    p = plan("--role", "supervisor", "--zk-servers", "10.0.0.11", "--nimbus-host", "10.0.0.21")
    assert p.host == "node1.example.com"


# --- cluster inventories ---


def test_plan_takes_the_inventory_host_part() -> None:
    p = plan("--host", "worker3", inventory=EXAMPLE)
    assert p.entry is not None and p.entry["name"] == "worker3"
    assert list(p.roles) == ["supervisor", "logviewer"]
    assert list(p.zk_servers) == ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
    assert (list(p.zk_ids), p.zk_id, list(p.nimbus_hosts)) == ([1, 2, 3], None, ["10.0.0.21"])
    assert list(p.slots) == list(range(6700, 6708))
    assert p.heaps == {"nimbus": 1024, "ui": 512, "worker": 2048}
    assert p.host == "10.0.0.33" and p.prefix == "/opt/storm"
    assert "found by --host worker3" in p.notes[0]
    zk2 = plan("--host", "zk2", inventory=EXAMPLE)
    assert (list(zk2.roles), zk2.zk_id, zk2.host) == (["zookeeper"], 2, "10.0.0.12")


def test_the_inventory_host_is_found_by_hostname_or_address() -> None:
    # (--check: the command line asks for --role unless the bundle folder has cluster.json)
    by_name = plan("--check", inventory=EXAMPLE, hostname="nimbus1")
    assert list(by_name.roles) == ["nimbus", "ui", "logviewer"]
    assert by_name.notes[0].endswith("found by hostname nimbus1")
    by_address = plan("--check", inventory=EXAMPLE, hostname="x", addresses={"10.0.0.13"})
    assert by_address.zk_id == 3
    with pytest.raises(UsageError, match="none of the bundle's inventory hosts"):
        plan("--check", inventory=EXAMPLE, hostname="stranger")


def test_flags_override_the_inventory() -> None:
    p = plan(
        "--host", "worker3", "--role", "supervisor,drpc", "--zk-servers", "127.0.0.1",
        "--nimbus-host", "127.0.0.1", "--prefix", "/srv/elsewhere", inventory=EXAMPLE,
    )  # fmt: skip
    assert list(p.roles) == ["supervisor", "drpc"]
    assert (list(p.zk_servers), list(p.zk_ids), list(p.nimbus_hosts)) == (
        ["127.0.0.1"],
        [1],
        ["127.0.0.1"],
    )
    assert p.prefix == "/srv/elsewhere"
    assert list(p.slots) == list(range(6700, 6708))  # no flag for slots: still the inventory's
    with pytest.raises(UsageError, match=r"--zk-id 4 but the ensemble's ids are 1,2,3"):
        plan("--host", "zk2", "--zk-id", "4", inventory=EXAMPLE)
    unknown = r"^--host zk9 is not a host of the bundle's inventory; its hosts are zk1 \(10"
    with pytest.raises(UsageError, match=unknown):
        plan("--host", "zk9", inventory=EXAMPLE)


# --- prefix, user, init ---


@pytest.mark.parametrize("prefix", ["/", "/tmp", "/etc", "/opt", "/usr", "/var", "/home"])
def test_system_folders_are_refused(prefix: str) -> None:
    # / is refused by the contract's rule already (not a folder of its own), the rest by the plan.
    said = "expected a folder of its own" if prefix == "/" else f"{prefix} is a system folder"
    with pytest.raises(UsageError, match=f"^--prefix( {prefix})?: {said}"):
        plan("--role", "all", "--prefix", prefix, "--dry-run")


def test_a_home_folder_is_refused_but_a_folder_in_it_is_not() -> None:
    with pytest.raises(UsageError, match=r"^--prefix /home/ada: /home/ada is a home folder"):
        plan("--role", "all", "--prefix", "/home/ada")
    assert plan("--role", "all", "--prefix", "/home/ada/storm").prefix == "/home/ada/storm"


def test_a_foreign_prefix_is_refused_an_own_or_empty_one_is_not() -> None:
    theirs = {"/srv/s": ["data", "logs"]}
    with pytest.raises(UsageError, match="exists, is not empty and is not an installation"):
        plan("--role", "all", "--prefix", "/srv/s", listings=theirs)
    ours = {"/srv/s": {"prefix": "/srv/s", "created": ["data"]}}
    assert plan("--role", "all", "--prefix", "/srv/s", listings=theirs, states=ours).problems == []
    assert plan("--role", "all", "--prefix", "/srv/s", listings={"/srv/s": []}).problems == []


def test_not_root_runs_as_itself_in_its_home() -> None:
    p = plan("--role", "all", root=False, user="ada", env={"PATH": "/usr/bin", "HOME": "/x"})
    assert p.user is None and p.prefix.endswith("/storm")
    other = plan("--role", "all", "--user", "storm", root=False, user="ada")
    assert other.problems[0].startswith("--user storm: running daemons as another user needs root")


def test_init_auto_is_systemd_only_as_root_where_it_runs() -> None:
    assert plan("--role", "all", systemd=True).init == "systemd"
    assert plan("--role", "all", systemd=False).init == "none"
    assert plan("--role", "all", systemd=True, root=False, user="ada").init == "none"


# --- Java, Pythons, ports: every problem at once ---


def test_every_problem_is_collected_and_nothing_rendered() -> None:
    p = plan(
        "--role", "all", java=None, busy_ports={2181: "in use by pid 7 (java)"},
        pythons={}, python_version="3.5.10", version_info=(3, 5, 10),
    )  # fmt: skip
    text = "\n".join(p.problems)
    assert "no Java" in text
    assert "port 2181 for the ZooKeeper client port is in use by pid 7 (java)" in text
    assert "is Python 3.5.10, which this bundle has no packages for" in text
    assert "launcher needs Python" in text
    assert p.rendered == []


def test_a_java_older_than_the_recipes_allow_is_a_problem() -> None:
    old = ("/usr/lib/jvm/j8", 8)
    p = plan("--role", "all", java=old)
    assert len(p.problems) == 1 and "/usr/lib/jvm/j8 is Java 8" in p.problems[0]
    assert "Storm 2.6.4 and ZooKeeper 3.8.4 need Java 11" in p.problems[0]
    era = plan("--role", "all", storm="0.9.5", zookeeper="3.4.6", java=old)
    assert era.problems == [] and era.java_major == 8


def test_an_earlier_installation_holds_its_own_ports() -> None:
    state: dict[str, Any] = {
        "prefix": "/opt/storm",
        "roles": ALL,
        "socket": "/opt/storm/run/s.sock",
    }
    state["values"] = {"http_port": 9001}
    busy = {2181: "in use", 9001: "in use"}
    p = plan(
        "--role", "all", busy_ports=busy, states={"/opt/storm": state},
        listings={"/opt/storm": ["state"]}, running_sockets={"/opt/storm/run/s.sock"},
    )  # fmt: skip
    assert p.problems == []
    fresh = plan("--role", "all", busy_ports=busy)
    assert len(fresh.problems) == 2


# --- the plan is a value ---


def test_a_plan_is_frozen_and_recomputes_the_same() -> None:
    p = plan("--role", "all")
    with pytest.raises(AttributeError, match="a Plan is decided once"):
        p.prefix = "/elsewhere"
    again = plan("--role", "all")
    assert p.rendered == again.rendered and p.values == again.values


def test_the_web_password_is_the_stored_one_on_a_rerun() -> None:
    stored = {"/opt/storm/etc/web-password": b"kept-secret\n"}
    assert plan("--role", "all", files=stored).password == "kept-secret"
    assert plan("--role", "all").password == "recorded-password"


# --- every host of the example inventories ---

INVENTORIES = [
    (ROOT / "docs" / "examples" / "three-zookeepers.toml", "2.6.4", "3.8.4"),
    (ROOT / "docs" / "examples" / "book-two-hosts.toml", "0.9.5", "3.4.6"),
]


@pytest.mark.parametrize(("inventory", "storm", "zookeeper"), INVENTORIES)
def test_every_inventory_host_gets_its_part_and_only_its_files(
    inventory: Path, storm: str, zookeeper: str
) -> None:
    bundle = RecordedBundle(storm, zookeeper, inventory)
    assert bundle.cluster is not None
    java = ("/usr/lib/jvm/j8", 8) if storm.startswith("0.") else ("/usr/lib/jvm/java-17", 17)
    for entry in bundle.cluster["hosts"]:
        p = plan(
            "--host", entry["name"], storm=storm, zookeeper=zookeeper, inventory=inventory,
            java=java,
        )  # fmt: skip
        assert p.problems == [], (entry["name"], p.problems)
        assert list(p.roles) == [r for r in ALL if r in entry["roles"]]
        assert p.host == entry["address"]
        out = files(p)
        runs_zk = "zookeeper" in p.roles
        assert ("etc/zookeeper/zoo.cfg" in out) is runs_zk
        assert ("data/zookeeper/myid" in out) is runs_zk
        if runs_zk:
            assert out["data/zookeeper/myid"].strip() == str(p.zk_id)
        runs_storm = any(r != "zookeeper" for r in p.roles)
        assert ("etc/storm/storm.yaml" in out) is runs_storm
        if runs_storm:
            for server in p.zk_servers:
                assert f'"{server}"' in out["etc/storm/storm.yaml"]
        assert len(p.program_order) == len(p.roles)
        assert ("zookeeper" in p.program_order[:1]) is runs_zk


def test_the_launcher_python_follows_the_recipes_range() -> None:
    old = ("/usr/lib/jvm/j8", 8)
    # Storm 1.0.1's launcher runs on Python 2 only: the host's python3 does not do.
    p = plan("--role", "all", storm="1.0.1", zookeeper="3.4.6", java=old)
    assert p.launcher_python == "/usr/bin/python2.7"
    assert p.values is not None and p.values["launcher_python"] == "/usr/bin/python2.7"
    none = plan(
        "--role", "all", storm="1.0.1", zookeeper="3.4.6", java=old,
        pythons={"/usr/bin/python3": ("/usr/bin/python3", (3, 11, 2))},
    )  # fmt: skip
    assert "Storm 1.0.1's launcher needs Python >=2.6,<3" in none.problems[0]
    assert "/usr/bin/python3 (3.11.2) is outside >=2.6,<3" in none.problems[0]
    # 2.6's needs Python 3, which is the first found.
    assert plan("--role", "all").launcher_python == "/usr/bin/python3"


def with_jdk(bundle: RecordedBundle, version: str, top: str) -> RecordedBundle:
    """The bundle as built with --jdk: a JDK of that version in folder `top`."""
    bundle.manifest["components"]["jdk"] = {
        "version": version,
        "java_major": int(version.split(".")[0]),
        "top": top,
        "artifact": f"artifacts/{top}.tar.gz",
    }
    return bundle


def test_a_host_without_java_uses_the_jdk_the_bundle_carries() -> None:
    args = parse_args(["--bundle-dir", "/bundle", "--role", "all"])
    bundle = with_jdk(RecordedBundle("2.6.4", "3.8.4"), "17.0.9", "jdk-17.0.9")
    p = make_plan(args, bundle, RecordedFacts(java=None))
    assert p.problems == []
    assert (p.java_home, p.java_major) == ("/opt/storm/jdk", 17)
    assert p.bundled_jdk is not None and "jdk" in p.components()
    assert any(n.startswith("using the bundle's JDK (Java 17.0.9)") for n in p.notes)


def test_a_java_newer_than_a_release_runs_on_is_a_problem_the_bundles_jdk_can_solve() -> None:
    """Storm 1.2.4's ZooKeeper 3.4.14 client cannot connect on Java 14+ (recipes: java_max)."""
    host17 = ("/usr/lib/jvm/java-17-openjdk-amd64", 17)
    p = plan("--role", "all", storm="1.2.4", zookeeper="3.4.14", java=host17)
    assert len(p.problems) == 1
    assert "Storm 1.2.4 and ZooKeeper 3.4.14 need Java 8 to 13" in p.problems[0]
    args = parse_args(["--bundle-dir", "/bundle", "--role", "all"])
    bundle = with_jdk(RecordedBundle("1.2.4", "3.4.14"), "11.0.24", "java-11-openjdk-amd64")
    taken = make_plan(args, bundle, RecordedFacts(java=host17))
    assert taken.problems == [] and (taken.java_home, taken.java_major) == ("/opt/storm/jdk", 11)
    bundle.manifest["components"]["jdk"]["java_major"] = 17
    refused = make_plan(args, bundle, RecordedFacts(java=host17))
    assert "the bundle's JDK is Java 17, which does not fit either" in refused.problems[0]


@pytest.mark.parametrize(
    ("low", "high", "suggested"),
    [(8, 13, 11), (7, None, 17), (11, None, 17), (21, None, 21), (6, 7, 7), (17, 21, 21)],
)
def test_the_java_a_fix_suggests_is_a_long_term_release_in_range(
    low: int, high: int | None, suggested: int
) -> None:
    assert suggested_java(low, high) == suggested


def test_init_systemd_problems_are_named() -> None:
    p = plan("--role", "all", "--init", "systemd", systemd=False)
    assert any("systemd does not run this host" in x for x in p.problems)
    user = plan("--role", "all", "--init", "systemd", root=False, user="ada", systemd=True)
    assert any("--init systemd needs root" in x for x in user.problems)
