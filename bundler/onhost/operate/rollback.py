"""`stormctl rollback`: return this host to the install an upgrade replaced (previous.py kept
it in PREFIX/state/previous): its generated files, links and state record, then restart what
differs and wait for health (and, on a ZooKeeper member, for a leader and a quorum). Needs no
bundle; the old releases are still in releases/. A second run finds nothing to roll back."""

from __future__ import absolute_import, print_function

import json
import os
import stat
import sys
import time

from ..apply import datacopy, rolling
from ..apply.healthcheck import failure
from ..apply.previous import PREVIOUS, versions_text
from ..contract.contract import DEFAULT_PEER_TIMEOUT
from ..errors import EXIT_OK, DiskFull, InstallError, Unhealthy, UsageError, disk_full, say
from ..host import health, pristine
from ..host.host import Host
from ..host.ownership import created_before
from ..host.state import load_state, state_bytes
from ..host.system import read_bytes, read_or_none
from ..plan.upgrade import MAJOR_PROCEDURE, ZK_DATA, zk_copy_rel
from ..render.roles import ROLE_OF
from ..render.supervisordconf import parse_conf, program_order

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Set, Tuple  # noqa: F401

DEFAULT_TIMEOUT = 180


def parse(args):
    # type: (List[str]) -> Tuple[int, bool]
    """(timeout, --allow-major-rollback) from `[--timeout SECONDS] [--allow-major-rollback]`."""
    rest = list(args)
    allow = "--allow-major-rollback" in rest
    if allow:
        rest.remove("--allow-major-rollback")
    if not rest:
        return DEFAULT_TIMEOUT, allow
    if len(rest) == 2 and rest[0] == "--timeout" and rest[1].isdigit():
        return int(rest[1]), allow
    raise UsageError(
        "expected [--timeout SECONDS] [--allow-major-rollback], found %s" % " ".join(args)
    )


def major_change(cur, old):
    # type: (Dict[str, Any], Dict[str, Any]) -> Optional[Tuple[str, str]]
    """Storm's upgrade groups (recipes' upgrade_group) when going back crosses a major line."""
    now = ((cur.get("components") or {}).get("storm") or {}).get("upgrade_group")
    then = ((old.get("components") or {}).get("storm") or {}).get("upgrade_group")
    return (str(now), str(then)) if now and then and now != then else None


def load_json(path, what):
    # type: (str, str) -> Dict[str, Any]
    data = read_or_none(path)
    try:
        found = json.loads((data or b"").decode("utf-8"))  # type: Dict[str, Any]
        return found
    except ValueError:
        pass
    raise InstallError(
        "%s (%s) is missing or not valid JSON; the previous install cannot be restored from "
        "it: install the old bundle again with install.sh" % (path, what)
    )


def zookeeper_words(cur, old):
    # type: (Dict[str, Any], Dict[str, Any]) -> Optional[str]
    """What an operator must know when this member's ZooKeeper goes back to another release:
    the data stays the newer release's, and where the copy from before the upgrade is."""
    if "zookeeper" not in (old.get("roles") or []):
        return None
    new_zk = (cur.get("components") or {}).get("zookeeper") or {}
    old_zk = (old.get("components") or {}).get("zookeeper") or {}
    if not new_zk or not old_zk or new_zk.get("version") == old_zk.get("version"):
        return None
    prefix = cur["prefix"]
    copy = zk_copy_rel(new_zk["version"])
    if new_zk.get("line") == old_zk.get("line"):
        head = "ZooKeeper goes back from %s to %s (same line): the data folder stays" % (
            new_zk["version"], old_zk["version"])  # fmt: skip
    else:
        # Downgrades are not a promise (ZOOKEEPER-1149); an older line cannot replay what
        # only later lines write (containers, TTL nodes, create2, reconfig).
        head = (
            "ZooKeeper goes back from %s to the older line %s (%s) on the data folder %s wrote: "
            "%s may not read what only later lines write (containers, TTL nodes, reconfig; "
            "ZOOKEEPER-1149). The data folder stays as it is, this is not guessed further"
            % (new_zk["version"], old_zk["line"], old_zk["version"], new_zk["version"],
               old_zk["version"])
        )  # fmt: skip
    manifest, problems = datacopy.verify(os.path.join(prefix, *copy.split("/")))
    if manifest is not None and problems:
        how = (
            "; the copy taken before the upgrade (%s/%s) does NOT match its manifest (%s): do "
            "not restore it" % (prefix, copy, "; ".join(problems[:3]))
        )
    elif manifest is not None:
        # The copy is root's (datacopy.py): the restored folder goes back to the service user.
        user = cur.get("user")
        chown = "chown -R %s: %s/%s; " % (user, prefix, ZK_DATA) if user else ""
        how = (
            "; the copy taken before the upgrade matches its manifest (%s); if zookeeper does "
            "not serve again, return this member to it (what was written since is then lost on "
            "this member only; the others keep it): %s/bin/stormctl stop zookeeper; "
            "mv %s/%s %s/%s.after-%s; cp -a %s/%s %s/%s; rm -f %s/%s/%s; "
            "%s%s/bin/stormctl start zookeeper"
            % (datacopy.describe(manifest), prefix, prefix, ZK_DATA, prefix, ZK_DATA,
               new_zk["version"], prefix, copy,
               prefix, ZK_DATA, prefix, ZK_DATA, datacopy.MANIFEST, chown, prefix)
        )  # fmt: skip
    else:
        how = "; no usable copy of its data from before the upgrade is there (%s/%s: %s)" % (
            prefix, copy, problems[0])  # fmt: skip
    return head + how


def lock(prefix):
    # type: (str) -> Any
    import fcntl

    handle = open(os.path.join(prefix, "state", "lock"), "a")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle
    except IOError:
        pass
    handle.close()
    raise InstallError("install.sh or another stormctl works on %s; wait for it to finish" % prefix)


def rollback(prefix, args):
    # type: (str, List[str]) -> int
    timeout, allow_major = parse(args)
    cur = load_state(prefix)
    if not cur or cur.get("uninstalled"):
        raise InstallError("nothing installed at %s (no state/installed.json)" % prefix)
    kept = os.path.join(prefix, *PREVIOUS.split("/"))
    if not os.path.isfile(os.path.join(kept, "installed.json")):
        say("nothing to roll back: no previous install is kept in %s" % kept)
        return EXIT_OK
    held = lock(prefix)
    failed = None
    try:
        return restore(prefix, kept, cur, timeout, allow_major)
    except EnvironmentError as exc:  # a full disk, or a file the run could not write
        failed = exc
    finally:
        held.close()
    where = getattr(failed, "filename", None) or prefix
    if disk_full(failed):  # type: ignore[arg-type,unused-ignore]
        raise DiskFull(
            "the rollback stopped: no space left for %s (%s); fix: free space on that "
            "filesystem, then run `stormctl rollback` again (it picks up where it stopped)"
            % (where, failed)
        )
    raise InstallError("the rollback stopped at %s: %s; fix the cause, then run it again" % (
        where, failed))  # fmt: skip


def restore(prefix, kept, cur, timeout, allow_major):
    # type: (str, str, Dict[str, Any], int, bool) -> int
    old = load_json(os.path.join(kept, "installed.json"), "the previous state record")
    major = major_change(cur, old)
    if major and not allow_major:
        raise UsageError(
            "Storm %s -> %s goes back across a major line, which cannot be done host by host "
            "either; follow the stop-the-world procedure (%s), then run again with "
            "--allow-major-rollback" % (major[0], major[1], MAJOR_PROCEDURE)
        )
    links = load_json(os.path.join(kept, "links.json"), "the previous links")
    owner = (os.geteuid(), os.getegid()) if os.geteuid() == 0 else (None, None)
    host = Host(prefix, False, owner, owner, created_before(cur))
    say(
        "roll back %s (%s) to %s (%s)"
        % ((cur.get("bundle") or {}).get("name"), versions_text(cur),
           (old.get("bundle") or {}).get("name"), versions_text(old))
    )  # fmt: skip
    words = zookeeper_words(cur, old)
    if words:
        say(words)
    if (cur.get("python") or {}) != (old.get("python") or {}):
        say("supervisor's Python environment (python/site) stays as the upgrade made it")
    conf_rel = "etc/supervisord.conf"
    conf_before = read_or_none(host.abs(conf_rel))
    files = dict(old.get("files") or {})
    restored = []  # (rel, data, mode) of the generated files put back, for state/written
    for rel in sorted(files):
        src = os.path.join(kept, "files", *rel.split("/"))
        if not os.path.isfile(src):
            continue
        st = os.lstat(src)
        data = read_bytes(src)
        host.write(host.abs(rel), data, stat.S_IMODE(st.st_mode), st.st_uid,
                   st.st_gid, show_diff=False)  # fmt: skip
        if not rel.startswith("lib/"):
            restored.append((rel, data, stat.S_IMODE(st.st_mode)))
    dropped = sorted(
        r for r in set(cur.get("files") or {}) - set(files) if not r.startswith("data/")
    )
    for rel in dropped:
        # This package's own files too: every module this run needs is imported already, and
        # a stage folder left beside the restored package would shadow its modules of the
        # same name (lib/onhost/contract/ before contract.py).
        host.remove(host.abs(rel))
    remove_emptied_folders(host, dropped)
    # The systemd unit (outside the prefix), as the previous install had it.
    unit, unit_copy = old.get("unit"), os.path.join(kept, "unit")
    same_unit = unit and os.path.isfile(unit_copy) and unit == cur.get("unit")
    mode = stat.S_IMODE(os.lstat(unit_copy).st_mode) if same_unit else 0
    if same_unit and host.write(str(unit), read_bytes(unit_copy), mode):
        host.command("reload systemd's units", ["systemctl", "daemon-reload"])
    for name, target in sorted(links.items()):
        host.symlink(name, target)
    for name in sorted(set(cur.get("links") or []) - set(links)):
        if os.path.islink(host.abs(name)):
            host.remove(host.abs(name))
    record = dict(old)
    record["files"] = files
    for key in ("releases", "zk_data_copies", "logs", "created"):
        record[key] = sorted(set(old.get(key) or []) | set(cur.get(key) or []))
    record["created"] = sorted(set(record["created"]) | host.owned)
    host.change("record the previous install as the installed one; drop %s" % kept)
    host._atomic(host.abs("state/installed.json"), state_bytes(record), 0o600, *owner)
    # check.py compares the files with what the installed record wrote: the restored ones.
    pristine.save(prefix, restored, lambda path, data, mode: host._atomic(path, data, mode, *owner))
    host.remove(kept)
    report = restart(host, cur, record, conf_before != read_or_none(host.abs(conf_rel)))
    report += wait_healthy(record, timeout, words)
    sys.stdout.write(report)
    return EXIT_OK


def remove_emptied_folders(host, removed):
    # type: (Host, List[str]) -> None
    """The folders under lib/ that removing those files left empty, deepest first."""
    folders = set(rel.rsplit("/", 1)[0] for rel in removed if rel.startswith("lib/"))
    for rel in sorted(folders, key=lambda r: -r.count("/")):
        path = host.abs(rel)
        if os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path):
            host.remove(path)


def restart(host, cur, record, conf_changed):
    # type: (Host, Dict[str, Any], Dict[str, Any], bool) -> str
    """Apply the restored supervisord.conf (like `supervisorctl update`), then restart the
    programs whose fingerprint differs, ZooKeeper first."""
    sock = record.get("socket") or host.abs("run/supervisord.sock")
    if health.supervisord_state(sock) is None:
        return "supervisord does not run: nothing restarted; start it as install.sh would\n"
    proxy = health.supervisor(sock)
    order = program_order(parse_conf(read_or_none(host.abs("etc/supervisord.conf")) or b""))
    rank = dict((n, i) for i, n in enumerate(order))
    touched = set()  # type: Set[str]
    if conf_changed:
        added, changed, removed = proxy.supervisor.reloadConfig()[0]
        for name in removed:
            host.change("stop and remove program %s" % name)
            proxy.supervisor.stopProcessGroup(name, True)
            proxy.supervisor.removeProcessGroup(name)
        for name in sorted(changed, key=lambda n: rank.get(n, 999)):
            host.change("restart program %s with its previous settings" % name)
            proxy.supervisor.stopProcessGroup(name, True)
            proxy.supervisor.removeProcessGroup(name)
            proxy.supervisor.addProcessGroup(name)
        for name in sorted(added, key=lambda n: rank.get(n, 999)):
            host.change("add and start program %s" % name)
            proxy.supervisor.addProcessGroup(name)
        touched = set(added) | set(changed) | set(removed)
    was, now = cur.get("programs") or {}, record.get("programs") or {}
    for name in order:
        if name in touched or was.get(name) == now.get(name):
            continue
        host.change("restart %s on its previous release and config" % name)
        health.stop_program(proxy, name)
        proxy.supervisor.startProcess(name, False)
    return ""


def wait_healthy(record, timeout, words):
    # type: (Dict[str, Any], int, Optional[str]) -> str
    sock = record.get("socket") or ""
    if health.supervisord_state(sock) is None:
        return ""
    proxy = health.supervisor(sock)
    deadline = time.time() + timeout
    lines = []
    for info in proxy.supervisor.getAllProcessInfo():
        name = info["name"]
        while info["state"] != health.RUNNING:
            if info["state"] == health.FATAL or time.time() >= deadline:
                text = failure(name, info, "is not RUNNING after the rollback")
                if ROLE_OF.get(name) == "zookeeper" and words:
                    text += "\n" + words
                raise Unhealthy(text)
            time.sleep(0.5)
            info = proxy.supervisor.getProcessInfo(name)
        lines.append("%-17s RUNNING  pid %s" % (name, info["pid"]))
    values = record.get("values") or {}
    servers = values.get("zk_servers") or []
    if "zookeeper" in (record.get("roles") or []) and len(servers) > 1:
        port = int((values.get("zk_ports") or {}).get("client") or 2181)
        failed = None
        try:
            lines.append(
                rolling.wait_ensemble(servers, port, values["host"], DEFAULT_PEER_TIMEOUT).rstrip()
            )
        except Unhealthy as exc:
            failed = "%s\n%s" % (exc, words) if words else str(exc)
        if failed:
            raise Unhealthy(failed)
    lines.append(
        "rolled back; %s is the installed bundle" % (record.get("bundle") or {}).get("name")
    )
    return "\n".join(lines) + "\n"
