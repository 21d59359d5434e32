"""The previous install, kept by an upgrade for `stormctl rollback`: PREFIX/state/previous/
holds the old installed.json, a copy of every file it had generated (modes and owners kept:
some are 0600) and the targets its links pointed at. The old releases stay in releases/.
Before ZooKeeper first runs a new release its data folder is copied beside it."""

from __future__ import absolute_import, print_function

import json
import os
import stat
import time

from ..errors import DiskFull, InstallError, disk_full, say, warn
from ..host import boundary, health
from ..host.state import state_bytes
from ..host.system import read_bytes
from ..plan.upgrade import ZK_DATA, components_record
from ..render import configs
from . import datacopy
from .record import save_state

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional  # noqa: F401

    from ..host.host import Host  # noqa: F401
    from ..plan.model import Plan  # noqa: F401
    from .record import Run  # noqa: F401

PREVIOUS = "state/previous"
ZK_PROGRAM = configs.PROGRAM_NAMES["zookeeper"]
# In the record from the start of an upgrade until its restarts: an earlier attempt kept the
# previous install already.
PENDING = "upgrade_pending"


def versions_text(record):
    # type: (Dict[str, Any]) -> str
    comps = record.get("components") or {}
    return ", ".join(
        "%s %s" % (name, comps[name]["version"]) for name in sorted(comps) if comps.get(name)
    )


def keep(run):
    # type: (Run) -> None
    """Copy what the record says this installation is, before the upgrade changes any of it;
    replaces the copy of an earlier upgrade (one step back is kept). A run again after an
    upgrade that stopped before its restarts keeps the copy that attempt made."""
    host = run.host
    old = run.old
    dest = host.abs(PREVIOUS)
    run.state[PENDING] = True
    if old.get(PENDING) and os.path.isfile(os.path.join(dest, "installed.json")):
        say("the previous install stays as an earlier attempt of this upgrade kept it in %s" % dest)
        return
    host.change(
        "keep the previous install (%s: %s) in %s for `bin/stormctl rollback`"
        % ((old.get("bundle") or {}).get("name"), versions_text(old), dest)
    )
    if host.dry_run:
        return
    scratch = "%s.new-%d" % (dest, os.getpid())
    host.discard(scratch)
    os.mkdir(scratch, 0o700)
    try:
        for rel in sorted(old.get("files", {})):
            src = host.abs(rel)
            if os.path.islink(src) or not os.path.isfile(src):
                continue
            st = os.lstat(src)
            path = os.path.join(scratch, "files", *rel.split("/"))
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path), 0o700)
            host._atomic(path, read_bytes(src), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        links = dict(
            (name, os.readlink(host.abs(name)))
            for name in old.get("links", [])
            if os.path.islink(host.abs(name))
        )
        unit = old.get("unit")
        if unit and os.path.isfile(unit):  # the systemd unit lives outside the prefix
            st = os.lstat(unit)
            host._atomic(os.path.join(scratch, "unit"), read_bytes(unit), st.st_mode & 0o777,
                         None, None)  # fmt: skip
        text = json.dumps(links, indent=2, sort_keys=True) + "\n"
        host._atomic(os.path.join(scratch, "links.json"), text.encode("utf-8"), 0o600, None, None)
        host._atomic(os.path.join(scratch, "installed.json"), state_bytes(old), 0o600, None, None)
        host.swap_in(scratch, dest)
    finally:
        host.discard(scratch)


def before_start(plan, run):
    # type: (Plan, Run) -> None
    """Just before the restarts: stop this member and copy its data folder before it runs the
    new release (a downgrade may need it back: ZOOKEEPER-1149, and 3.4 cannot replay 3.5-only
    transactions), then record the new releases as the installed ones."""
    up = plan.upgrade
    if up is None:
        return
    host = run.host
    if up.zk_copy:
        src, dest = host.abs(ZK_DATA), host.abs(up.zk_copy)
        if boundary.lstat(src) is not None:
            # Each attempt takes its own copy: until this run records the new releases the
            # data is still the old release's, and a copy of an earlier attempt may be older.
            if datacopy.manifest_of(dest) is None:
                set_aside(host, dest)
            zxid = None
            if health.supervisord_state(plan.socket) is not None:
                zxid = current_zxid(plan)
                host.change("stop %s to copy its data folder" % ZK_PROGRAM)
                if not host.dry_run:
                    health.stop_program(health.supervisor(plan.socket), ZK_PROGRAM)
            try:
                copy_data(host, src, dest, run.old, zxid)
            except InstallError:
                back_to_old_zookeeper(plan, run)
                raise
        if up.zk_copy not in run.state["zk_data_copies"]:
            run.state["zk_data_copies"] = sorted(run.state["zk_data_copies"] + [up.zk_copy])
    run.state["components"] = components_record(plan.components())
    run.state.pop(PENDING, None)
    save_state(run)


def set_aside(host, dest):
    # type: (Host, str) -> None
    """A folder under the copy's name without a manifest is no copy of ours (cut short by an
    earlier layout's `cp`, or not ours at all): renamed aside, never used, never deleted."""
    if boundary.lstat(dest) is None:
        return
    aside = "%s.unverified-%d" % (dest, int(time.time()))
    host.change("move %s aside to %s: it has no manifest, so it is not used" % (dest, aside))
    if not host.dry_run:
        os.rename(dest, aside)


def current_zxid(plan):
    # type: (Plan) -> Optional[str]
    """The member's last zxid as `srvr` says it (None when it does not answer)."""
    port = int(plan.zk_ports.get("client") or 2181)
    try:
        return health.srvr_field("127.0.0.1", port, "Zxid")
    except (IOError, OSError):
        return None


def back_to_old_zookeeper(plan, run):
    # type: (Plan, Run) -> None
    """The copy failed after ZooKeeper stopped: its link and config files go back to the
    previous install's and it starts again on its old release (supervisord still holds its
    old program), so the member serves as before the run."""
    host = run.host
    kept = host.abs(PREVIOUS)
    if host.dry_run or not os.path.isfile(os.path.join(kept, "links.json")):
        return
    links = json.loads(read_bytes(os.path.join(kept, "links.json")).decode("utf-8"))
    if "zookeeper" in links:
        host.symlink("zookeeper", links["zookeeper"])
    for rel in sorted((run.old.get("files") or {})):
        copy = os.path.join(kept, "files", *rel.split("/"))
        if rel.startswith("etc/zookeeper/") and os.path.isfile(copy):
            st = os.lstat(copy)
            host.write(host.abs(rel), read_bytes(copy), stat.S_IMODE(st.st_mode),
                       st.st_uid, st.st_gid, show_diff=False)  # fmt: skip
    host.change("start %s again on its old release" % ZK_PROGRAM)
    try:
        health.supervisor(plan.socket).supervisor.startProcess(ZK_PROGRAM, True)
    except Exception as exc:  # reported with the copy's own failure
        warn("%s did not start again: %s" % (ZK_PROGRAM, exc))


def copy_data(host, src, dest, old, zxid):
    # type: (Host, str, str, Dict[str, Any], Optional[str]) -> None
    """ZooKeeper's data folder copied for a rollback, read as its owner (datacopy.py)."""
    host.change("copy %s to %s (ZooKeeper's data as it was, for a rollback)" % (src, dest))
    if host.dry_run:
        return
    zk = (old.get("components") or {}).get("zookeeper") or {}
    failed = None
    found = {}  # type: Dict[str, Any]
    try:
        found = datacopy.take(src, dest, {"release": zk.get("version"), "zxid": zxid})
    except (datacopy.CopyFailed, IOError, OSError) as exc:
        failed = exc
    if failed is not None:
        text = _copy_failed(src, dest, failed)
        raise (DiskFull if disk_full(failed) else InstallError)(text)
    say("copied %s: %s (%s)" % (src, datacopy.describe(found), datacopy.MANIFEST))
    for rel in found["skipped"]:
        warn("not copied: %s/%s is not a file or folder" % (src, rel))


def _copy_failed(src, dest, failed):
    # type: (str, str, Any) -> str
    return (
        "could not copy %s to %s: %s; nothing of the copy is left and ZooKeeper runs its old "
        "release again. Fix the cause (free space on the filesystem of %s), then run again"
        % (src, dest, failed, os.path.dirname(dest))
    )
