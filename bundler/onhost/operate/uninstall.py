"""--uninstall [--purge]: stop everything and remove what the state record says was installed."""

from __future__ import absolute_import, print_function

import os
import sys

from ..apply.supervisord import stop_supervisord
from ..errors import EXIT_OK, say
from ..host import boundary, health, pristine
from ..host.facts import HostFacts, default_prefix
from ..host.host import Host
from ..host.leftovers import sweep as sweep_leftovers
from ..host.ownership import PREFIX_DIRS, created_before, purge_paths
from ..host.processes import pid_alive, supervisord_pid
from ..host.state import load_state, state_bytes
from ..host.users import remove_user
from ..plan.plan import identify_host

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import (  # noqa: F401
        Any,
        Callable,
        Dict,
        Iterable,
        List,
        Optional,
        Sequence,
        Set,
        Tuple,
        TypeVar,
        Union,
    )

    from ..bundle.bundle import Bundle  # noqa: F401
    from ..flags import Args  # noqa: F401


# --- uninstall ---


def uninstall(args, bundle):
    # type: (Args, Bundle) -> int
    """Stop everything and remove what state/installed.json says was installed. Data and logs
    stay (with a small record, so that a later --uninstall --purge finds them) unless --purge.
    The prefix is --prefix, else this host's in the bundle's inventory, else the default."""
    root = os.geteuid() == 0
    facts = HostFacts(dict(os.environ))
    entry = identify_host(args, bundle, facts)[0] if not args.prefix else None
    prefix = os.path.normpath(
        args.prefix or (entry and entry.get("prefix")) or default_prefix(root)
    )
    state = load_state(prefix)
    if not state:
        say("nothing installed at %s (no state/installed.json); nothing to do" % prefix)
        return EXIT_OK
    host = Host(prefix, args.dry_run, (None, None), (None, None))
    if state.get("uninstalled") and not args.purge:
        say(
            "nothing installed at %s; data and logs of an earlier installation are there "
            "(--uninstall --purge removes them)" % prefix
        )
        return EXIT_OK
    if not state.get("uninstalled"):
        remove_installation(host, state, args)
    if args.purge:
        for path in purge_paths(state):
            host.remove(path)
        user = state.get("user")
        if user and state.get("user_created"):
            remove_user(host, user)
        host.remove(host.abs("state/installed.json"))
    else:
        kept = dict((k, state.get(k)) for k in ("schema", "prefix", "user", "user_created"))
        if state.get("zk_data_copies"):  # for a later --purge
            kept["zk_data_copies"] = state["zk_data_copies"]
        kept["created"] = sorted(created_before(state))
        kept["links"] = []
        kept["logs"] = state.get("logs", [])
        kept["uninstalled"] = True
        host.change(
            "keep %s and %s; record them in state/installed.json"
            % (host.abs("data"), host.abs("logs"))
        )
        if not args.dry_run:
            host._atomic(host.abs("state/installed.json"), state_bytes(kept), 0o600, None, None)
    sweep_leftovers(host)
    host.remove(host.abs("state/lock"))
    created = created_before(state)
    for rel, _ in reversed(PREFIX_DIRS):
        path = host.abs(rel)
        if path in host.removed or not os.path.isdir(path) or os.path.islink(path):
            continue
        if rel not in created:
            continue  # not this installer's to remove, even empty
        if not host.would_be_empty(path):
            foreign = [
                n
                for n in sorted(boundary.listdir(path))
                if os.path.join(path, n) not in host.removed
                and (rel + "/" + n).lstrip("/") not in created
            ]
            if args.purge and foreign:
                say(
                    "kept %s: it holds what this installer did not create (%s)"
                    % (path, ", ".join(foreign[:5]))
                )
            continue
        host.change("remove empty folder %s" % path)
        host.removed.add(path)
        if not args.dry_run:
            os.rmdir(path)
    if args.dry_run and not host.changed:
        sys.stdout.write("nothing to change\n")
    return EXIT_OK


def remove_installation(host, state, args):
    # type: (Host, Dict[str, Any], Args) -> None
    socket_path = state.get("socket") or host.abs("run/supervisord.sock")
    pidfile = host.abs("run/supervisord.pid")
    pid = supervisord_pid(pidfile, host.abs("etc/supervisord.conf"))
    if health.supervisord_state(socket_path) is not None or (pid and pid_alive(pid)):
        host.change("stop supervisord and every program it runs")
        if not args.dry_run:
            stop_supervisord(host, socket_path, pidfile, state.get("init"), state.get("unit"))
    unit = state.get("unit")
    if unit and os.path.exists(unit):
        name = os.path.basename(unit)
        host.command("disable %s" % name, ["systemctl", "disable", name])
        host.remove(unit)
        host.command("reload systemd's units", ["systemctl", "daemon-reload"])
    for rel in sorted(state.get("files", {})):
        if rel.startswith("data/") and not args.purge:
            continue
        host.remove(host.abs(rel))
        host.remove(host.abs(rel) + ".bak")
    # A record from before links were recorded: the three the installer ever made.
    for link in state.get("links") or ("storm", "zookeeper", "jdk"):
        if os.path.islink(host.abs(link)):
            host.remove(host.abs(link))
    for top in state.get("releases", []):
        host.remove(host.abs("releases/" + top))
    # state/previous: the install an upgrade replaced, kept for `stormctl rollback`.
    for rel in (
        "python/site",
        "run/supervisord.sock",
        "run/supervisord.pid",
        pristine.FOLDER,
        "state/previous",
    ):
        host.remove(host.abs(rel))
