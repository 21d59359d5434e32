"""The cluster inventory a bundle carries: which host this is, and what its part is.

`bundler build --cluster cluster.toml` checks the operator's inventory and writes it into the
bundle as cluster.json, normalised (every host with its roles, ZooKeeper id, slots, heaps,
prefix and service user resolved; the ensemble and the Nimbus hosts listed). This module reads
that file on the host, finds this host in it (by --host NAME, else by hostname or by one of its
addresses) and turns its entry into the installer's values. The build side imports it too
(`bundler render`), so both see one mapping.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, print_function

import io
import json
import os
import re
import socket
import subprocess

from . import contract, extras

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Set, Tuple  # noqa: F401

SCHEMA = 1
FILE = "cluster.json"
# Where `ip` lives when PATH is short (sudo, cron, a bare service environment).
IP_PATHS = ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")
FIB_TRIE = "/proc/net/fib_trie"
INET = re.compile(r"\binet6?\s+([0-9A-Fa-f:.]+)(?:/\d+)?")


class NoMatch(Exception):
    """This host is not (or not only one) host of the inventory; the message is one line that
    lists the candidates."""


def load(path):
    """The parsed cluster.json, or None when the bundle carries none."""
    try:
        with io.open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (IOError, OSError):
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(
            "%s has schema %r; this installer reads schema %d"
            % (path, data.get("schema") if isinstance(data, dict) else None, SCHEMA)
        )
    check(data)
    return data


def check(inventory):
    # type: (Any) -> None
    """The values each host's part hands to the installer, by contract.py's rules (the build
    wrote them by the same rules; this guards against a hand-edited cluster.json)."""
    hosts = inventory.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        raise ValueError(
            "%s: expected a non-empty list of hosts, found %s" % (FILE, contract.show(hosts))
        )
    for index, entry in enumerate(hosts, start=1):
        if not isinstance(entry, dict):
            raise ValueError(
                "%s: host #%d: expected a table, found %s" % (FILE, index, contract.show(entry))
            )
        where = "%s: host #%d" % (FILE, index)
        contract.check_host_name(entry.get("name"), where + " name")
        contract.check_address(entry.get("address"), where + " address")
        contract.check_roles(entry.get("roles"), where + " roles")
        if entry.get("user") is not None:
            contract.check_user(entry["user"], where + " user")
        if entry.get("prefix") is not None:
            contract.check_prefix(entry["prefix"], where + " prefix")
        extras.check_storm_options(entry.get("storm_options"), where + " storm_options")
        extras.check_zk_options(entry.get("zk_options"), where + " zk_options")
        extras.check_childopts_extra(entry.get("childopts_extra"), where + " childopts_extra")


def describe(hosts):
    return ", ".join("%s (%s)" % (h["name"], h["address"]) for h in hosts)


def find(inventory, name):
    # type: (Dict[str, Any], str) -> Dict[str, Any]
    hosts = inventory["hosts"]  # type: List[Dict[str, Any]]
    for entry in hosts:
        if entry["name"] == name:
            return entry
    raise NoMatch(
        "--host %s is not a host of the bundle's inventory; its hosts are %s"
        % (
            contract.plain(name),
            describe(inventory["hosts"]),
        )
    )


# --- this host's names and addresses ---


def _run(cmd):
    try:
        with open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(
                cmd, stdin=devnull, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True
            )
            out, _ = proc.communicate()
    except (OSError, IOError):
        return None
    return out.decode("utf-8", "replace") if proc.returncode == 0 else None


def _ip_tool():
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(folder or ".", "ip")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    for candidate in IP_PATHS:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def parse_ip_addr(text):
    # type: (str) -> Set[str]
    """Addresses in `ip -o addr` output."""
    return set(match.group(1) for match in INET.finditer(text))


def parse_fib_trie(text):
    # type: (str) -> Set[str]
    """IPv4 addresses of this host in /proc/net/fib_trie: the `/32 host LOCAL` leaves."""
    found = set()  # type: Set[str]
    last = None
    for line in text.splitlines():
        match = re.search(r"[|+]-- (\d+\.\d+\.\d+\.\d+)", line)
        if match:
            last = match.group(1)
        elif last and "/32 host LOCAL" in line:
            found.add(last)
    return found


def local_addresses():
    # type: () -> Tuple[Optional[Set[str]], str]
    """(addresses of this host, where they came from): `ip -o addr`, else /proc/net/fib_trie;
    (None, reason) when neither can be read."""
    tool = _ip_tool()
    if tool:
        out = _run([tool, "-o", "addr", "show"])
        if out:
            return parse_ip_addr(out), "ip -o addr"
    try:
        with open(FIB_TRIE) as handle:
            return parse_fib_trie(handle.read()), FIB_TRIE
    except (IOError, OSError):
        pass
    return None, "neither `ip` nor %s" % FIB_TRIE


def can_bind(address):
    """True when a socket binds to address: only an address of this host does (unless the
    host allows non-local binds, hence the address list first)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((address, 0))
        return True
    except (socket.error, OSError):
        return False
    finally:
        sock.close()


def _resolve(address):
    if contract.is_ipv4(address) or ":" in address:
        return [address]
    try:
        return sorted(set(info[4][0] for info in socket.getaddrinfo(address, None)))
    except (socket.error, OSError):
        return []


def _short(name):
    return name.split(".", 1)[0]


def _same_name(entry_name, hostname):
    if entry_name == hostname:
        return True
    # A short name on one side matches the first label of a dotted one on the other.
    if "." not in hostname and _short(entry_name) == hostname:
        return True
    return "." not in entry_name and entry_name == _short(hostname)


def identify(inventory, hostname=None, addresses=None):
    # type: (Dict[str, Any], Optional[str], Optional[Set[str]]) -> Tuple[Dict[str, Any], str]
    """(host entry, how it matched) for this host; NoMatch when no host or several match."""
    if hostname is None:
        hostname = socket.gethostname()
    source = "given"
    if addresses is None:
        addresses, source = local_addresses()
    matches = []
    for entry in inventory["hosts"]:
        how = None
        if _same_name(entry["name"], hostname):
            how = "hostname %s" % hostname
        else:
            for address in _resolve(entry["address"]):
                local = address in addresses if addresses is not None else can_bind(address)
                if local and can_bind(address):
                    how = "address %s" % address
                    break
        if how:
            matches.append((entry, how))
    if len(matches) == 1:
        return matches[0]
    seen = "hostname %s, addresses %s (from %s)" % (
        hostname,
        ", ".join(sorted(addresses)) if addresses else "none",
        source,
    )
    if not matches:
        raise NoMatch(
            "this host is none of the bundle's inventory hosts (%s); candidates: %s; pass "
            "--host NAME" % (seen, describe(inventory["hosts"]))
        )
    raise NoMatch(
        "this host matches several hosts of the bundle's inventory: %s; pass --host NAME"
        % ", ".join("%s by %s" % (e["name"], how) for e, how in matches)
    )


# --- the entry as installer values ---


def settings(inventory, entry):
    # type: (Dict[str, Any], Dict[str, Any]) -> Dict[str, Any]
    """The values the inventory decides for one host (configs.py's keys; prefix and user
    None where the installer's defaults apply)."""
    ensemble = inventory["ensemble"]
    return {
        "roles": list(entry["roles"]),
        "host": entry["address"],
        "zk_servers": [member["address"] for member in ensemble],
        "zk_ids": [member["id"] for member in ensemble],
        "zk_id": entry.get("zk_id"),
        "zk_ports": dict(inventory["zookeeper_ports"]),
        "nimbus_hosts": [member["address"] for member in inventory["nimbus"]],
        "slots": list(entry["slots"]),
        "heaps": dict(entry.get("heaps") or {}),
        "prefix": entry.get("prefix"),
        "user": entry.get("user"),
        # The operator's extra keys (configs.py's optional values), checked at build time.
        "storm_options": dict(entry.get("storm_options") or {}),
        "zk_options": dict(entry.get("zk_options") or {}),
        "childopts_extra": dict(entry.get("childopts_extra") or {}),
    }


def peer_names(inventory):
    """{address: host name} of every host, to name peers in messages."""
    if not inventory:
        return {}
    return dict((h["address"], h["name"]) for h in inventory["hosts"])
