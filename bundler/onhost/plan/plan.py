"""The plan: `make_plan(args, bundle, facts) -> Plan`, every decision of an installation made
before the first change: roles, addresses, ids, prefix, user, Java, Pythons, ports, every
config file's bytes. Pure: it asks the host only through `facts` (facts.HostFacts, or recorded
answers in tests) and changes nothing; the Plan it returns is a value (model.py), which
apply.py carries out."""

from __future__ import absolute_import, print_function

import os

from ..contract import cluster, contract, extras
from ..errors import UsageError
from ..host.facts import default_prefix
from ..host.ownership import prefix_problem
from ..host.prefixlock import busy, held_by_another
from ..render import configs
from . import planfiles, preflight, upgrade
from .model import Plan
from .planfiles import FLAG_OF as FLAG_OF  # re-exported: plan.FLAG_OF

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

    from ..bundle.bundle import Bundle  # noqa: F401
    from ..flags import Args  # noqa: F401
    from ..host.facts import HostFacts  # noqa: F401

DEFAULT_HTTP_PORT = configs.SUPERVISORD_HTTP_PORT


def identify_host(args, bundle, facts):
    # type: (Args, Bundle, HostFacts) -> Tuple[Optional[Dict[str, Any]], Optional[str]]
    """(inventory entry, how it was found) of this host, (None, None) without an inventory.
    --host names it; otherwise the hostname or one of this host's addresses must match exactly
    one inventory host."""
    if bundle.cluster is None:
        if args.host:
            raise UsageError(
                "--host %s: this bundle carries no cluster inventory (build it with "
                "`bundler build --cluster cluster.toml`)" % args.host
            )
        return None, None
    problem = None
    try:
        if args.host:
            return cluster.find(bundle.cluster, args.host), "--host %s" % args.host
        return facts.identify(bundle.cluster)
    except cluster.NoMatch as exc:
        problem = str(exc)
    raise UsageError(problem)


def make_plan(args, bundle, facts):
    # type: (Args, Bundle, HostFacts) -> Plan
    """The whole plan, or UsageError for flags that cannot work. Problems of the host (exit 4)
    are collected in Plan.problems, each with its fix; with any, nothing is rendered."""
    plan = Plan(args, bundle)
    locate(plan, facts)
    resolve(plan, facts)
    preflight.check(plan, facts)
    if not plan.problems and plan.roles:
        planfiles.render(plan, facts)
        plan.upgrade = upgrade.decide_for(plan, facts)
        preflight.check_copy_space(plan, facts)
    plan.freeze()
    return plan


def locate(plan, facts):
    # type: (Plan, HostFacts) -> None
    """Who runs this, with which Python; this host's part of the bundle's inventory; the
    prefix, refused while another run holds it or when it is no place to install into; and
    what an earlier run recorded there."""
    args = plan.args
    bundle = plan.bundle
    plan.root = facts.root
    plan.python = facts.python
    plan.python_version = facts.python_version
    found = identify_host(args, bundle, facts)
    plan.entry = found[0]
    how = found[1]
    if plan.entry is not None and bundle.cluster is not None:
        plan.part = cluster.settings(bundle.cluster, plan.entry)
        plan.notes.append(
            "this host is %s (%s) of the bundle's inventory, found by %s"
            % (plan.entry["name"], plan.entry["address"], how)
        )
    plan.prefix = os.path.normpath(
        args.prefix or (plan.part and plan.part["prefix"]) or default_prefix(plan.root)
    )
    if held_by_another(plan.prefix):
        raise busy(plan.prefix)
    plan.state = facts.state(plan.prefix)
    refused = prefix_problem(plan.prefix, facts.home_dirs(), facts.listing(plan.prefix), plan.state)
    if refused:
        raise UsageError(refused)
    plan.conf_path = os.path.join(plan.prefix, "etc", "supervisord.conf")
    plan.site_dir = os.path.join(plan.prefix, "python", "site")


# roles and addresses


def resolve(plan, facts):
    # type: (Plan, HostFacts) -> None
    """Flags first, then this host's part of the bundle's inventory, then the defaults of
    a single-node cluster on 127.0.0.1."""
    args = plan.args
    part = plan.part or {}
    inventory_zk_id = None
    if args.zk_servers or not part:
        plan.zk_servers = list(args.zk_servers or ["127.0.0.1"])
        plan.zk_ids = list(range(1, len(plan.zk_servers) + 1))
    else:
        plan.zk_servers, plan.zk_ids = part["zk_servers"], part["zk_ids"]
        inventory_zk_id = part["zk_id"]
    plan.nimbus_hosts = list(args.nimbus_host or part.get("nimbus_hosts") or ["127.0.0.1"])
    plan.zk_ports = part.get("zk_ports") or configs.default_zk_ports(plan.zk_facts())
    plan.slots = part.get("slots") or list(plan.storm_facts().get("slots_ports", []))
    plan.heaps = part.get("heaps") or {}
    plan.extras = operator_extras(plan, part)
    if args.role or not part:
        plan.roles = contract.expand_roles(args.role or [], lambda: zookeeper_here(plan, facts))
    else:
        plan.roles = list(part["roles"])
    plan.zk_id = None
    if "zookeeper" in plan.roles:
        if args.zk_id:
            if args.zk_id not in plan.zk_ids:
                raise UsageError(
                    "--zk-id %d but the ensemble's ids are %s (%s)"
                    % (
                        args.zk_id,
                        ",".join(str(i) for i in plan.zk_ids),
                        "--zk-servers" if args.zk_servers or not part else "the inventory",
                    )
                )
            plan.zk_id = args.zk_id
        elif inventory_zk_id:
            plan.zk_id = inventory_zk_id
        elif len(plan.zk_servers) == 1:
            plan.zk_id = plan.zk_ids[0]
        else:
            local = [i for i, h in enumerate(plan.zk_servers) if facts.is_local(h)]
            if len(local) == 1:
                plan.zk_id = plan.zk_ids[local[0]]
            else:
                plan.problem(
                    "cannot tell which of --zk-servers %s is this host (%s match); fix: "
                    "pass --zk-id N, N being this host's place in that list"
                    % (",".join(plan.zk_servers), len(local) or "none")
                )
    if plan.storm_facts().get("nimbus_key") == "nimbus.host" and len(plan.nimbus_hosts) > 1:
        raise UsageError(
            "--nimbus-host names %d hosts, but Storm %s has a single Nimbus (nimbus.host); "
            "name one" % (len(plan.nimbus_hosts), plan.bundle.storm["version"])
        )
    plan.host = this_host(plan, facts)
    plan.user = service_user(plan, facts)
    bind, port = args.supervisord_ui_bind or ("127.0.0.1", None)
    plan.http_bind, plan.http_port = bind, DEFAULT_HTTP_PORT if port is None else port
    if plan.init == "auto":
        plan.init = "systemd" if plan.root and facts.systemd_running() else "none"


def operator_extras(plan, part):
    # type: (Plan, Dict[str, Any]) -> Dict[str, Dict[str, Any]]
    """The inventory's extra keys with --storm-option, --zk-option and --childopts laid
    over them key by key; the options' keys checked against the bundle's key sets."""
    args = plan.args
    allow = list(args.allow_unknown_key)
    allow += (plan.entry or {}).get("allow_unknown_keys") or []
    known = plan.bundle.known_keys
    if known is None and (args.storm_option or args.zk_option):
        plan.notes.append(
            "this bundle carries no key sets: the keys of --storm-option and --zk-option "
            "are not checked against the releases"
        )
    problem = None
    try:
        given = extras.parse_options(
            args.storm_option, args.zk_option, args.childopts, known, allow
        )
    except contract.Invalid as exc:
        problem = str(exc)
    if problem is not None:
        raise UsageError(problem)
    merged = extras.overlay(part, given)
    # Options are not remembered: say which keys of the last run this one drops.
    old = (plan.state or {}).get("values") if plan.installed_here() else None
    dropped = extras.dropped(old or {}, merged)
    if dropped:
        plan.notes.append(
            "the last run set %s, this one does not (give the option again to keep it)"
            % ", ".join(dropped)
        )
    return merged


def zookeeper_here(plan, facts):
    # type: (Plan, HostFacts) -> bool
    """Whether this host is one of the ensemble (the lone `--role nimbus` asks)."""
    return any(facts.is_local(h) for h in plan.zk_servers)


def this_host(plan, facts):
    # type: (Plan, HostFacts) -> str
    if plan.zk_id:
        return plan.zk_servers[plan.zk_ids.index(plan.zk_id)]
    if plan.entry is not None:
        return str(plan.entry["address"])
    named = plan.zk_servers + plan.nimbus_hosts
    if "nimbus" in plan.roles:
        for host in plan.nimbus_hosts:
            if facts.is_local(host):
                return host
    if all(h == "localhost" or h.startswith("127.") for h in named):
        return "127.0.0.1"
    return facts.fqdn()


def service_user(plan, facts):
    # type: (Plan, HostFacts) -> Optional[str]
    wanted = plan.args.user
    me = facts.user
    if not plan.root:
        if not wanted and plan.part and plan.part["user"]:
            plan.notes.append(
                "not root: the daemons run as %s, not as the inventory's user %s"
                % (me, plan.part["user"])
            )
        if wanted and wanted != me:
            plan.problem(
                "--user %s: running daemons as another user needs root; fix: run as root, "
                "or drop --user to run them as %s" % (wanted, me)
            )
        return None
    return wanted or (plan.part and plan.part["user"]) or "storm"
