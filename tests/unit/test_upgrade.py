"""Upgrade decisions from recorded facts (no root, no processes): a bundle with other versions
than the state record's is refused without --upgrade, a Storm major-line change also without
--allow-major-upgrade, what restarts and in which order, and ZooKeeper's snapshot trap."""

from __future__ import annotations

from typing import Any

import pytest

from bundler.onhost.errors import PrerequisitesMissing, UsageError
from bundler.onhost.flags import CommandLineError, parse_args
from bundler.onhost.plan import upgrade
from bundler.onhost.plan.model import Plan
from tests.support.hostfacts import RecordedBundle, RecordedFacts, make_plan

PREFIX = "/opt/storm"
ZK_DATA = f"{PREFIX}/data/zookeeper/version-2"


def installed(storm: str, zookeeper: str, **extra: Any) -> dict[str, Any]:
    """The state record an earlier run of a bundle with these versions wrote."""
    bundle = RecordedBundle(storm, zookeeper)
    return {
        "prefix": PREFIX,
        "bundle": {"name": bundle.name, "id": "0" * 64},
        "components": upgrade.components_record(bundle.components),
        **extra,
    }


def running(storm: str, zookeeper: str, *flags: str) -> dict[str, str]:
    """The fingerprints of what runs after an install of this pair with these flags."""
    return dict(plan(*flags, storm=storm, zookeeper=zookeeper).fingerprints)


def plan(
    *flags: str,
    storm: str = "1.2.4",
    zookeeper: str = "3.8.4",
    record: dict[str, Any] | None = None,
    listing: list[str] | None = None,
    **host: Any,
) -> Plan:
    args = parse_args(["--bundle-dir", "/bundle", *flags])
    facts = RecordedFacts(
        states={PREFIX: record} if record else {},
        listings={ZK_DATA: listing} if listing is not None else {},
        **host,
    )
    return make_plan(args, RecordedBundle(storm, zookeeper), facts)


def gate(p: Plan) -> None:
    upgrade.gate(p.upgrade, p.prefix, p.roles, p.args)


def test_the_same_bundle_again_is_no_upgrade() -> None:
    p = plan("--role", "all", record=installed("1.2.4", "3.8.4"))
    assert p.problems == [] and p.upgrade is None
    gate(p)  # nothing printed, nothing refused


def test_first_install_and_old_records_are_no_upgrade() -> None:
    assert plan("--role", "all").upgrade is None
    # A record written before components were recorded: today's behaviour.
    old = installed("1.2.4", "3.4.14")
    del old["components"]
    assert plan("--role", "all", record=old).upgrade is None


def test_other_versions_print_the_plan_and_need_upgrade(capsys: pytest.CaptureFixture[str]) -> None:
    # What runs: as the bundle would start it, but for ZooKeeper's release.
    programs = {**running("1.2.4", "3.8.4", "--role", "all"), "zookeeper": "on 3.4.14"}
    record = installed("1.2.4", "3.4.14", programs=programs)
    p = plan("--role", "all", record=record, listing=["snapshot.0"])
    up = p.upgrade
    assert up is not None
    assert up.changes == [("zookeeper", "3.4.14", "3.8.4")]
    # Only ZooKeeper was started with something else: only it restarts; its data is copied.
    assert up.restarts == ["zookeeper"]
    assert up.zk_copy == "data/zookeeper.before-3.8.4"
    with pytest.raises(UsageError) as refused:
        gate(p)
    assert refused.value.exit_code == 2
    assert str(refused.value) == (
        "this host has another release installed (zookeeper 3.4.14 -> 3.8.4); the plan is "
        "above: run again with --upgrade to carry it out"
    )
    out = capsys.readouterr().out
    assert "  zookeeper 3.4.14 -> 3.8.4 (new release beside the old one in releases/)" in out
    assert "  restart, in this order: zookeeper\n" in out
    assert f"copied to {PREFIX}/data/zookeeper.before-3.8.4" in out
    assert f"kept in {PREFIX}/state/previous" in out
    assert "followers first, the leader last" in out


def test_with_upgrade_the_run_goes_on() -> None:
    p = plan("--role", "all", "--upgrade", record=installed("1.2.4", "3.4.14"), listing=[])
    gate(p)
    assert p.upgrade is not None and p.upgrade.snapshot_first is None


def test_restart_order_follows_the_programs_zookeeper_first() -> None:
    p = plan("--role", "all", storm="1.2.4", record=installed("1.1.3", "3.4.14"), listing=[])
    up = p.upgrade
    assert up is not None and up.major is None  # 1.1 -> 1.2: same line, rolling
    assert up.changes == [("zookeeper", "3.4.14", "3.8.4"), ("storm", "1.1.3", "1.2.4")]
    # Nothing recorded as running: everything restarts, ZooKeeper first.
    assert up.restarts == list(p.program_order) and up.restarts[0] == "zookeeper"
    # What is started as before is not restarted; the others keep the start order.
    programs = {**running("1.2.4", "3.8.4", "--role", "all"), "zookeeper": "old", "storm-ui": "old"}
    q = plan("--role", "all", record=installed("1.1.3", "3.4.14", programs=programs), listing=[])
    assert q.upgrade is not None and q.upgrade.restarts == ["zookeeper", "storm-ui"]
    # A worker host has no ZooKeeper data to copy.
    w = plan("--role", "supervisor", record=installed("1.1.3", "3.8.4"))
    assert w.upgrade is not None and w.upgrade.restarts == ["storm-supervisor"]
    assert w.upgrade.zk_copy is None


@pytest.mark.parametrize(
    ("old", "new", "groups"),
    [("0.10.2", "1.2.4", ("0.x", "1.x")), ("1.2.4", "2.6.4", ("1.x", "2.x"))],
)
def test_a_major_storm_line_is_refused_without_allow(old: str, new: str, groups: Any) -> None:
    record = installed(old, "3.8.4")
    p = plan("--role", "all", "--upgrade", storm=new, record=record)
    assert p.upgrade is not None and p.upgrade.major == groups
    with pytest.raises(UsageError) as refused:
        gate(p)
    text = str(refused.value)
    assert f"Storm {groups[0]} -> {groups[1]} changes the major line" in text
    assert (
        "stop-the-world procedure (docs/howto/upgrade-and-rollback.md, 'Upgrades: major Storm "
        "lines')" in text
    )
    assert text.endswith("run again with --upgrade --allow-major-upgrade")
    allowed = plan("--role", "all", "--upgrade", "--allow-major-upgrade", storm=new, record=record)
    gate(allowed)


def test_allow_major_goes_with_upgrade() -> None:
    with pytest.raises(CommandLineError, match="--allow-major-upgrade goes with --upgrade"):
        parse_args(["--bundle-dir", "/b", "--role", "all", "--allow-major-upgrade"])


def test_logs_without_a_snapshot_make_the_old_release_write_one_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = installed("1.2.4", "3.4.14")
    p = plan(
        "--role", "all", "--upgrade", record=record, listing=["log.100000001", "acceptedEpoch"]
    )
    assert p.upgrade is not None and p.upgrade.snapshot_first == "3.4.14"
    gate(p)  # carried out, not refused
    said = capsys.readouterr().out
    assert "ZooKeeper 3.4.14 is restarted once first to write one" in said
    assert "ZOOKEEPER-2325" in said and "never snapshot.trust.empty" in said
    # --no-start forbids that restart: refused, with the way that works.
    held = plan("--role", "all", "--upgrade", "--no-start", record=record, listing=["log.1"])
    with pytest.raises(PrerequisitesMissing) as refused:
        gate(held)
    assert refused.value.exit_code == 4
    assert refused.value.problems[0].endswith("fix: run again without --no-start")
    # With a snapshot, or with no data yet, there is nothing to do.
    ok = plan("--role", "all", record=record, listing=["log.1", "snapshot.0"])
    assert ok.upgrade is not None and ok.upgrade.snapshot_first is None
    # 3.4 -> 3.4 reads its own logs: not checked.
    same_line = plan("--role", "all", zookeeper="3.4.14", record=installed("1.2.4", "3.4.6"),
                     listing=["log.1"])  # fmt: skip
    assert same_line.upgrade is not None and same_line.upgrade.snapshot_first is None


@pytest.mark.parametrize("short", ["bytes", "inodes"])
def test_a_data_copy_that_cannot_fit_is_refused_before_any_change(short: str) -> None:
    record = installed("1.2.4", "3.4.14")
    data = f"{PREFIX}/data/zookeeper"
    # Room for the new release (preflight's own check), not for the copy beside it.
    room: dict[str, Any] = {"free": 100 << 20} if short == "bytes" else {"inodes": 2500}
    p = plan("--role", "all", "--upgrade", record=record, listing=["log.1", "snapshot.0"],
             usages={data: (170 << 20, 3000)}, **room)  # fmt: skip
    (problem,) = p.problems
    assert f"copying ZooKeeper's data ({data}: 170 MB in 3000 files and folders)" in problem
    assert f"needs 195 MB and 3016 inodes free on the filesystem of {PREFIX}/data" in problem
    assert problem.endswith("nothing was changed. Fix: free space there (older copies are "
                            f"{data}.before-*), then run again")  # fmt: skip
    fits = plan("--role", "all", "--upgrade", record=record, listing=["log.1", "snapshot.0"],
                usages={data: (170 << 20, 3000)})  # fmt: skip
    assert fits.problems == []


def test_check_prints_the_plan_and_refuses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    p = plan("--role", "all", "--check", record=installed("1.2.4", "3.4.14"), listing=["log.1"])
    gate(p)
    assert "zookeeper 3.4.14 -> 3.8.4" in capsys.readouterr().out


def test_the_recipes_carry_the_line_facts() -> None:
    groups = {v: RecordedBundle(v, "3.8.4").storm["facts"]["upgrade_group"]
              for v in ("0.9.5", "0.10.2", "1.0.6", "1.2.4", "2.0.0", "2.8.8")}  # fmt: skip
    assert groups == {"0.9.5": "0.x", "0.10.2": "0.x", "1.0.6": "1.x", "1.2.4": "1.x",
                      "2.0.0": "2.x", "2.8.8": "2.x"}  # fmt: skip
    key = "refuses_logs_without_snapshot"
    versions = ("3.4.14", "3.5.4", "3.5.5", "3.8.4")
    refuses = {v: bool(RecordedBundle("2.6.4", v).zookeeper["facts"].get(key)) for v in versions}
    assert refuses == {"3.4.14": False, "3.5.4": False, "3.5.5": True, "3.8.4": True}


def test_an_upgrade_records_its_releases_only_when_it_restarts() -> None:
    """Until previous.before_start the record keeps the old releases: a run that stopped
    earlier is still an upgrade when run again (and takes ZooKeeper's copy then)."""
    old = installed("1.2.4", "3.4.14")
    p = plan("--role", "all", "--upgrade", record=old, listing=[])
    assert upgrade.recorded_components(p, old) == old["components"]
    first = plan("--role", "all")
    assert upgrade.recorded_components(first, {})["zookeeper"]["version"] == "3.8.4"
