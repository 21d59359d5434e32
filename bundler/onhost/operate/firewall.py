"""`bundler ports` and `stormctl ports`: a host's port table (ports.host_table) as text, or as
rules for nftables, firewalld or iptables, ready to paste on that host.

Only the inventory's hosts get a rule; a port that others outside the cluster reach (browsers,
topology clients) gets a commented rule to fill in, and a loopback-only port none.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, print_function

import json
import sys

from ..errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ..host.state import load_state

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence  # noqa: F401

FORMATS = ("table", "nftables", "firewalld", "iptables", "json")


def heading(name, address, roles):
    # type: (str, str, Sequence[str]) -> str
    return "%s (%s): %s" % (name, address, ", ".join(roles) or "no roles")


def sources(entry):
    # type: (Mapping[str, Any]) -> str
    """Who must reach the port, in words."""
    if entry["loopback"]:
        return "loopback only (%s): no other host" % entry["bind"]
    found = ["%s (%s)" % (name, address) for name, address in entry["from"]]
    if entry["outside"]:
        found.append(entry["outside"])
    return ", ".join(found) or "no other host of the cluster"


def table(entries):
    # type: (Sequence[Mapping[str, Any]]) -> List[str]
    lines = []
    for e in entries:
        note = "; " + e["note"] if e["note"] else ""
        lines.append(
            "  %5d/%s  %-11s %s (%s)%s <- %s"
            % (e["port"], e["proto"], e["role"], e["what"], e["option"], note, sources(e))
        )
    return lines


def _label(entry):
    # type: (Mapping[str, Any]) -> str
    return "storm %s: %s" % (entry["role"], entry["what"])


def nft(entry, address):
    # type: (Mapping[str, Any], str) -> str
    return 'nft add rule inet filter input ip saddr %s %s dport %d accept comment "%s"' % (
        address,
        entry["proto"],
        entry["port"],
        _label(entry).replace('"', "'"),
    )


def firewalld(entry, address):
    # type: (Mapping[str, Any], str) -> str
    return (
        'firewall-cmd --permanent --add-rich-rule=\'rule family="ipv4" source address="%s" '
        'port port="%d" protocol="%s" accept\'' % (address, entry["port"], entry["proto"])
    )


def iptables(entry, address):
    # type: (Mapping[str, Any], str) -> str
    return "iptables -A INPUT -p %s -s %s --dport %d -m comment --comment '%s' -j ACCEPT" % (
        entry["proto"],
        address,
        entry["port"],
        _label(entry).replace("'", ""),
    )


RULES = {
    "nftables": (nft, ["# into the input chain of table inet filter (Debian's nftables.conf)"]),
    "firewalld": (firewalld, []),
    "iptables": (iptables, []),
}  # type: Dict[str, Any]
AFTER = {"firewalld": ["firewall-cmd --reload"]}


def rules(entries, kind):
    # type: (Sequence[Mapping[str, Any]], str) -> List[str]
    rule, lines = RULES[kind]
    lines = list(lines)
    for e in entries:
        lines.append("# %d/%s %s (%s): %s" % (e["port"], e["proto"], e["role"], e["what"],
                                             sources(e)))  # fmt: skip
        if e["loopback"]:
            continue
        lines += [rule(e, address) for _, address in e["from"]]
        if e["outside"]:
            lines.append("# " + rule(e, "ADDRESS") + "   (fill in: " + e["outside"] + ")")
    return lines + AFTER.get(kind, [])


def render(hosts, kind):
    # type: (Sequence[Mapping[str, Any]], str) -> str
    """hosts: [{name, address, roles, ports}], each host one block (one snippet each)."""
    if kind == "json":
        return json.dumps(list(hosts), indent=2, sort_keys=True) + "\n"
    blocks = []
    for host in hosts:
        head = heading(host["name"], host["address"], host["roles"])
        if kind == "table":
            blocks.append("\n".join([head] + table(host["ports"])))
        else:
            blocks.append("\n".join(["# " + head] + rules(host["ports"], kind)))
    return "\n\n".join(blocks) + "\n"


def show_installed(prefix, args):
    # type: (str, List[str]) -> int
    """`stormctl ports [--format KIND]`: the table recorded at install time."""
    kind = args[1] if len(args) == 2 and args[0] == "--format" else None
    if args and kind not in FORMATS:
        sys.stderr.write(
            "stormctl ports: expected nothing or --format %s, found %s\n"
            % ("|".join(FORMATS), " ".join(args))
        )
        return EXIT_USAGE
    state = load_state(prefix)
    if not state or state.get("uninstalled"):
        sys.stderr.write("stormctl ports: nothing installed at %s\n" % prefix)
        return EXIT_ERROR
    if not state.get("ports"):
        sys.stderr.write(
            "stormctl ports: the install at %s predates the port record; run its install.sh "
            "again to record it\n" % prefix
        )
        return EXIT_ERROR
    sys.stdout.write(render([state["ports"]], kind or "table"))
    return EXIT_OK
