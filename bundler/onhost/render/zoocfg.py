"""zoo.cfg: the ZooKeeper ports a host uses and the file itself (myid is one line, in
configs.render).

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, division, print_function, unicode_literals

from ..contract import extras
from ..contract.valuecheck import _component, _fact, _label
from .generated import _header

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Mapping, Optional, Tuple  # noqa: F401


# --- ZooKeeper ports ---


def default_zk_ports(zk_facts):
    # type: (Dict[str, Any]) -> Dict[str, Any]
    """values['zk_ports'] when nothing overrides the release's ports."""
    return {
        "client": _fact(zk_facts, "zookeeper", "client_port"),
        "peer": _fact(zk_facts, "zookeeper", "peer_port"),
        "election": _fact(zk_facts, "zookeeper", "election_port"),
        "admin": None,
    }


def zk_admin_port(zk_facts, roles, zk_ports):
    # type: (Dict[str, Any], List[str], Dict[str, Any]) -> Optional[int]
    """The port ZooKeeper's AdminServer binds on a host with these roles, None when the release
    has no AdminServer. Unless set, it moves off 8080 where the Storm UI runs."""
    if not _fact(zk_facts, "zookeeper", "admin_server"):
        return None
    if zk_ports.get("admin") is not None:
        port = zk_ports["admin"]  # type: int
    elif "ui" in roles:
        port = _fact(zk_facts, "zookeeper", "admin_port_beside_ui")
    else:
        port = _fact(zk_facts, "zookeeper", "admin_port")
    return port


# --- zoo.cfg and myid ---


def render_zoo_cfg(manifest, values):
    version, facts = _component(manifest, "zookeeper")
    prefix = values["prefix"]
    ports = values["zk_ports"]
    client_port = ports["client"]
    lines = _header("#", "zoo.cfg for ZooKeeper %s on %s" % (version, values["host"]), manifest)
    options = extras.check_zk_options(values.get("zk_options"), _label("zk_options"))
    # The operator's value replaces the renderer's default in place: a key is never written twice.
    own = dict(
        (key, options.pop(key, default))
        for key, default in (
            ("tickTime", "2000"),
            ("initLimit", "10"),
            ("syncLimit", "5"),
            ("autopurge.snapRetainCount", "3"),
            ("autopurge.purgeInterval", "24"),
        )
    )
    lines += [
        "tickTime=%s" % own["tickTime"],
        "initLimit=%s" % own["initLimit"],
        "syncLimit=%s" % own["syncLimit"],
        "dataDir=%s/data/zookeeper" % prefix,
        "clientPort=%d" % client_port,
        "# Keep the last %s snapshots and their logs, purged every %s hours: dataDir never fills."
        % (own["autopurge.snapRetainCount"], own["autopurge.purgeInterval"]),
        "autopurge.snapRetainCount=%s" % own["autopurge.snapRetainCount"],
        "autopurge.purgeInterval=%s" % own["autopurge.purgeInterval"],
    ]
    if _fact(facts, "zookeeper", "four_letter_whitelist"):
        lines.append("# The four-letter words install.sh's health checks use.")
        lines.append("4lw.commands.whitelist=ruok,srvr,mntr")
    admin = zk_admin_port(facts, values["roles"], ports)
    if admin is not None and ports["admin"] is not None:
        lines.append("# The AdminServer's port, from the cluster inventory.")
        lines.append("admin.serverPort=%d" % admin)
    elif admin is not None and "ui" in values["roles"]:
        lines.append("# The AdminServer's default port, 8080, is the Storm UI's on this host.")
        lines.append("admin.serverPort=%d" % admin)
    servers = values["zk_servers"]
    if len(servers) > 1:
        # Every entry, this host's own included, carries the address its peers dial.
        form = _fact(facts, "zookeeper", "server_line")
        for index, host in enumerate(servers):
            lines.append(
                form.format(
                    id=values["zk_ids"][index],
                    host=host,
                    peer_port=ports["peer"],
                    election_port=ports["election"],
                    client_port=client_port,
                )
            )
    else:
        lines.append("# One server: standalone mode, no server.N lines.")
    if options:
        lines.append("# Extra keys from the cluster inventory or install.sh options.")
        lines.extend("%s=%s" % item for item in sorted(options.items()))
    return "\n".join(lines) + "\n"
