"""Upgrades, decided: what the state record says is installed against what the bundle brings.
Pure (the host's facts are its only view of the host); apply.py and previous.py carry it out.

The facts come from the recipes through the manifest: Storm's `upgrade_group` (releases that
can replace each other one host at a time) and ZooKeeper's `refuses_logs_without_snapshot`."""

from __future__ import absolute_import, print_function

import sys

from ..errors import PrerequisitesMissing, UsageError
from .model import Upgrade

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

    from ..host.facts import HostFacts  # noqa: F401
    from .model import Plan  # noqa: F401

COMPONENTS = ("zookeeper", "storm")
ZK_DATA = "data/zookeeper"
# Where the documentation tells the stop-the-world procedure.
MAJOR_PROCEDURE = "docs/howto/upgrade-and-rollback.md, 'Upgrades: major Storm lines'"


def component_record(component):
    # type: (Dict[str, Any]) -> Dict[str, Any]
    """What the state record keeps of a manifest component, for the next run to compare."""
    facts = component.get("facts") or {}
    return {
        "version": component["version"],
        "line": component.get("line"),
        "top": component["top"],
        "upgrade_group": facts.get("upgrade_group"),
    }


def components_record(components):
    # type: (Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Any]]
    return dict((name, component_record(components[name])) for name in COMPONENTS)


def recorded_components(plan, old):
    # type: (Plan, Dict[str, Any]) -> Dict[str, Dict[str, Any]]
    """What an installation records as its releases when it starts: an upgrade keeps the old
    ones until previous.before_start, so that a run that fails before its restarts is still an
    upgrade when it is run again (and copies ZooKeeper's data then)."""
    if plan.upgrade is not None and old.get("components"):
        return dict(old["components"])
    return components_record(plan.components())


def zk_copy_rel(version):
    # type: (str) -> str
    """The copy of ZooKeeper's data taken before this member first runs `version`."""
    return "%s.before-%s" % (ZK_DATA, version)


def lines(up, prefix, roles):
    # type: (Upgrade, str, List[str]) -> List[str]
    """The plan of an upgrade as gate() prints it."""
    out = ["upgrade plan for %s:" % prefix]
    for name, old, new in up.changes:
        out.append("  %-9s %s -> %s (new release beside the old one in releases/)" % (
            name, old, new))  # fmt: skip
    if up.major:
        out.append(
            "  Storm %s -> %s is a major-line change: not a rolling upgrade (%s)"
            % (up.major[0], up.major[1], MAJOR_PROCEDURE)
        )
    out.append("  restart, in this order: %s" % (", ".join(up.restarts) or "nothing"))
    kept = ["data/", "logs/"]
    out.append("  kept: %s; configs are rendered again" % ", ".join(kept))
    if up.zk_copy:
        out.append(
            "  before ZooKeeper restarts on the new release its data folder is copied to "
            "%s/%s (for a rollback)" % (prefix, up.zk_copy)
        )
    if up.snapshot_first:
        out.append(
            "  ZooKeeper data: %s/version-2 has transaction logs and no snapshot, which "
            "3.5.5+ refuses (ZOOKEEPER-2325): ZooKeeper %s is restarted once first to write "
            "one (never snapshot.trust.empty, ZOOKEEPER-3644)" % (ZK_DATA, up.snapshot_first)
        )
    out.append(
        "  the previous install (links, generated files, state) is kept in %s/state/previous "
        "for `%s/bin/stormctl rollback`" % (prefix, prefix)
    )
    if "zookeeper" in roles:
        out.append(
            "  one ZooKeeper member at a time: followers first, the leader last; this run "
            "waits until the ensemble has a leader and a quorum again"
        )
    return out


def major_line(group_old, group_new, storm_changed):
    # type: (Optional[str], Optional[str], bool) -> Optional[Tuple[str, str]]
    """(old, new) upgrade groups when Storm moves to another major line, else None."""
    if storm_changed and group_old and group_new and group_old != group_new:
        return (str(group_old), str(group_new))
    return None


def install_flags(changes, major):
    # type: (List[Tuple[str, str, str]], Optional[Tuple[str, str]]) -> List[str]
    """The install.sh flags a host with the old releases needs to take the new ones (gate)."""
    if not changes:
        return []
    return ["--upgrade", "--allow-major-upgrade"] if major else ["--upgrade"]


def trapped(listing):
    # type: (Any) -> bool
    """Whether a version-2 listing holds transaction logs and no snapshot (zksnapshot.py)."""
    if not isinstance(listing, list):
        return False
    return any(n.startswith("log.") for n in listing) and not any(
        n.startswith("snapshot.") for n in listing
    )


def decide(installed, components, roles, restarts, zk_listing):
    # type: (Optional[Dict[str, Any]], Dict[str, Dict[str, Any]], List[str], List[str], Any) -> Optional[Upgrade]
    """None when nothing was installed here, or the record predates component records, or the
    bundle's releases are the installed ones; else the Upgrade. `installed` is the state
    record's `components`, `components` the bundle's (link name -> manifest component),
    `restarts` the programs whose fingerprint changes, in start order."""
    if not installed:
        return None
    up = Upgrade()
    for name in COMPONENTS:
        old = installed.get(name)
        new = components[name]
        if old and old.get("version") != new["version"]:
            up.changes.append((name, str(old.get("version")), str(new["version"])))
    if not up.changes:
        return None
    storm_old = installed.get("storm") or {}
    group_new = (components["storm"].get("facts") or {}).get("upgrade_group")
    up.major = major_line(storm_old.get("upgrade_group"), group_new, up.changed("storm"))
    up.restarts = list(restarts)
    if "zookeeper" in roles and up.changed("zookeeper"):
        up.zk_copy = zk_copy_rel(components["zookeeper"]["version"])
        refuses = (components["zookeeper"].get("facts") or {}).get("refuses_logs_without_snapshot")
        if refuses and trapped(zk_listing):
            up.snapshot_first = str((installed.get("zookeeper") or {}).get("version"))
    return up


def decide_for(plan, facts):
    # type: (Plan, HostFacts) -> Optional[Upgrade]
    """decide() with what the plan knows; asks the host (through facts) only for the listing
    of ZooKeeper's data folder."""
    if not plan.installed_here():
        return None
    state = plan.state or {}
    installed = state.get("components")
    if not installed:
        return None
    listing = None
    if "zookeeper" in plan.roles:
        listing = facts.listing("%s/%s/version-2" % (plan.prefix, ZK_DATA))
    return decide(installed, plan.components(), plan.roles, restarts(plan, state), listing)


def restarts(plan, state):
    # type: (Plan, Dict[str, Any]) -> List[str]
    """The programs the installer will restart, in its order: those whose fingerprint (what
    they were started with) differs from the record's."""
    old = state.get("programs") or {}
    new = plan.fingerprints
    return [name for name in plan.program_order if old.get(name) != new[name]]


def gate(up, prefix, roles, args):
    # type: (Optional[Upgrade], str, List[str], Any) -> None
    """Prints the plan of an upgrade; returns when the run may go on. UsageError (exit 2)
    without --upgrade, or for a major line without --allow-major-upgrade; PrerequisitesMissing
    (exit 4) when the snapshot the old release must write first cannot be (--no-start)."""
    if up is None:
        return
    sys.stdout.write("\n".join(lines(up, prefix, roles)) + "\n")
    sys.stdout.flush()
    if args.check:
        return
    versions = ", ".join("%s %s -> %s" % c for c in up.changes)
    if up.major and not args.allow_major_upgrade:
        raise UsageError(
            "%s: Storm %s -> %s changes the major line, which cannot be upgraded host by host "
            "(topologies, stored state and the package name change); follow the stop-the-world "
            "procedure (%s), then run again with --upgrade --allow-major-upgrade"
            % (versions, up.major[0], up.major[1], MAJOR_PROCEDURE)
        )
    if not args.upgrade:
        raise UsageError(
            "this host has another release installed (%s); the plan is above: run again with "
            "--upgrade to carry it out" % versions
        )
    if up.snapshot_first and args.no_start:
        raise PrerequisitesMissing(
            [
                "%s/version-2 has transaction logs and no snapshot, which ZooKeeper 3.5.5+ "
                "refuses (ZOOKEEPER-2325); this upgrade first restarts ZooKeeper %s once to "
                "write one, which --no-start forbids; fix: run again without --no-start"
                % (ZK_DATA, up.snapshot_first)
            ]
        )
