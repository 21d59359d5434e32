"""cluster.toml -> a checked, normalised cluster inventory (the bundle's cluster.json).

The operator writes one file for the whole cluster: cluster-wide settings under `[cluster]` and
one `[[host]]` table per machine (name, address, roles, optional overrides). `load` reads it and
`normalise` checks it against the release facts of the Storm and ZooKeeper versions being
bundled (ports, daemons, `nimbus.host` vs `nimbus.seeds`), then resolves every default, so the
installer on each host reads its part without deciding anything cluster-wide. Every problem is
one line naming the host and key; an even-sized ZooKeeper ensemble is a warning.

The format is documented in docs/reference/cluster-toml.md.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from bundler.errors import UsageError
from bundler.onhost.contract import contract, extras
from bundler.onhost.plan import ports
from bundler.onhost.render import configs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

SCHEMA = 1
# The operator's own configuration, cluster-wide and per host (a host's value wins, key by key).
EXTRA_KEYS = ("storm_options", "zk_options", "childopts_extra", "allow_unknown_keys")
ROLES = contract.ROLES
STORM_ROLES = contract.STORM_ROLES
HEAP_KEYS = contract.HEAP_KEYS
CLUSTER_KEYS = (
    "name",
    "storm",
    "zookeeper",
    "prefix",
    "user",
    "slots",
    "heaps",
    *(f"zk_{key}_port" for key in contract.ZK_PORT_KEYS),
    *EXTRA_KEYS,
)
HOST_KEYS = ("name", "address", "roles", "zk_id", "slots", "prefix", "user", "heaps", *EXTRA_KEYS)
T = TypeVar("T")


class InventoryError(UsageError):
    """cluster.toml cannot describe a working cluster; the message names the host and key."""


@dataclass(frozen=True)
class Source:
    """A parsed cluster.toml and where it came from."""

    path: Path
    data: Mapping[str, Any]
    sha256: str

    @property
    def storm(self) -> str | None:
        return _optional_str(self, "storm")

    @property
    def zookeeper(self) -> str | None:
        return _optional_str(self, "zookeeper")


@dataclass(frozen=True)
class Inventory:
    """The normalised inventory (cluster.json's content) and the warnings found on the way."""

    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return cast("str | None", self.data["name"])

    def host(self, name: str) -> dict[str, Any]:
        for entry in self.data["hosts"]:
            if entry["name"] == name:
                return cast("dict[str, Any]", entry)
        names = ", ".join(h["name"] for h in self.data["hosts"])
        raise InventoryError(
            f"--host {contract.plain(name)}: no such host in the inventory; its hosts are {names}"
        )


def _optional_str(source: Source, key: str) -> str | None:
    cluster = source.data.get("cluster", {})
    value = cluster.get(key) if isinstance(cluster, Mapping) else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise InventoryError(f"{source.path}: [cluster] {key}: expected a version string")
    return value


def load(path: Path) -> Source:
    """Read cluster.toml; a missing or malformed file is a usage error."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InventoryError(f"--cluster {path}: cannot read it ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: not valid TOML: {exc}") from None
    return Source(path, data, hashlib.sha256(raw).hexdigest())


# --- checks of single values ---


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> InventoryError:
        return InventoryError(f"{self.path}: {where}: {message}")

    def keys(self, where: str, table: Any, allowed: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(table, Mapping):
            raise self.fail(where, "expected a table")
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            raise self.fail(
                where, f"unknown key {unknown[0]!r}; expected some of {', '.join(allowed)}"
            )
        return table

    def rule(self, rule: Callable[[Any, str], T], where: str, value: Any) -> T:
        """One of contract.py's rules, its refusal as this file's error."""
        try:
            return rule(value, where)
        except contract.Invalid as exc:
            raise self.fail(exc.label, exc.problem) from None

    def port(self, where: str, value: Any) -> int:
        return self.rule(contract.check_port, where, value)

    def slots(self, where: str, value: Any) -> list[int]:
        return self.rule(contract.check_slots, where, value)

    def prefix(self, where: str, value: Any) -> str:
        return self.rule(contract.normal_prefix, where, value)

    def user(self, where: str, value: Any) -> str:
        return self.rule(contract.check_user, where, value)

    def heaps(self, where: str, value: Any) -> dict[str, int]:
        return self.rule(contract.check_heaps, where, self.keys(where, value, HEAP_KEYS))

    def host_name(self, where: str, value: Any) -> str:
        return self.rule(contract.check_host_name, where, value)

    def address(self, where: str, value: Any) -> str:
        return self.rule(contract.check_address, where, value)

    def allow_unknown(self, where: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            raise self.fail(where, "expected a list of key names")
        return list(value)


def _flatten(table: Any, prefix: str = "") -> Any:
    """{"topology": {"workers": 2}} (TOML's reading of an unquoted dotted key) -> the dotted key
    {"topology.workers": 2}; anything that is not a table is returned as it is."""
    if not isinstance(table, Mapping):
        return table
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@dataclass(frozen=True)
class KnownKeys:
    """The key sets of the releases being bundled; None skips that check."""

    storm: frozenset[str] | None = None
    zookeeper: frozenset[str] | None = None


def _extras(
    check: _Checker,
    where: str,
    table: Mapping[str, Any],
    inherited: Mapping[str, Any],
    known: KnownKeys,
) -> dict[str, Any]:
    """One level's extra keys checked and laid over the level above (cluster, then host)."""
    allow = list(inherited.get("allow_unknown_keys", []))
    if "allow_unknown_keys" in table:
        allow += check.allow_unknown(f"{where} allow_unknown_keys", table["allow_unknown_keys"])
    result: dict[str, Any] = {"allow_unknown_keys": sorted(set(allow))}
    rules = (
        ("storm_options", extras.check_storm_options, known.storm),
        ("zk_options", extras.check_zk_options, known.zookeeper),
    )
    for key, rule, keys in rules:
        merged = dict(inherited.get(key, {}))
        if key in table:
            own = check.rule(
                lambda v, label, r=rule, k=keys: r(v, label, k, allow),  # type: ignore[misc]
                f"{where} {key}",
                _flatten(table[key]),
            )
            merged.update(own)
        result[key] = merged
    childopts = dict(inherited.get("childopts_extra", {}))
    if "childopts_extra" in table:
        childopts.update(
            check.rule(
                extras.check_childopts_extra, f"{where} childopts_extra", table["childopts_extra"]
            )
        )
    result["childopts_extra"] = childopts
    return result


def _is_loopback(address: str) -> bool:
    return address.lower() == "localhost" or address.startswith("127.")


# --- the whole inventory ---


def normalise(
    source: Source,
    storm_facts: Mapping[str, Any],
    zk_facts: Mapping[str, Any],
    known: KnownKeys | None = None,
) -> Inventory:
    """Check the inventory against the release facts; every default resolved."""
    known = known or KnownKeys()
    check = _Checker(source.path)
    cluster, hosts_raw = _tables(check, source)
    name = cluster.get("name")
    if name is not None:
        name = check.rule(contract.check_cluster_name, "[cluster] name", name)
    defaults = _defaults(check, cluster, storm_facts, known)
    warnings: list[str] = []
    zk_ports = _zookeeper_ports(check, cluster, zk_facts, warnings)
    daemons = set(storm_facts["daemons"])
    hosts = [
        _host(check, index, raw, defaults, daemons, known)
        for index, raw in enumerate(hosts_raw, start=1)
    ]
    ensemble, nimbus = _ensemble_and_nimbus(check, hosts, storm_facts)
    if len(ensemble) % 2 == 0:
        warnings.append(
            f"{source.path}: the ZooKeeper ensemble has {len(ensemble)} members: an even-sized "
            f"ensemble tolerates no more failures than {len(ensemble) - 1} members would "
            f"(quorum {contract.zk_majority(len(ensemble))}); use an odd number"
        )
    for entry in hosts:
        _check_ports(check, entry, storm_facts, zk_facts, zk_ports, len(ensemble))
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "name": name,
        "source": {"file": source.path.name, "sha256": source.sha256},
        "zookeeper_ports": zk_ports,
        "ensemble": ensemble,
        "nimbus": nimbus,
        "hosts": hosts,
    }
    return Inventory(data, warnings)


def _tables(check: _Checker, source: Source) -> tuple[Mapping[str, Any], list[Any]]:
    """[cluster] (perhaps empty) and the [[host]] tables (at least one)."""
    top = check.keys("top level", source.data, ("cluster", "host"))
    cluster = check.keys("[cluster]", top.get("cluster", {}), CLUSTER_KEYS)
    hosts_raw = top.get("host")
    if not isinstance(hosts_raw, list) or not hosts_raw:
        raise check.fail("[[host]]", "no hosts; add one [[host]] table per machine")
    return cluster, hosts_raw


@dataclass(frozen=True)
class _Defaults:
    """[cluster]'s settings, which each host takes unless it sets its own."""

    slots: list[int]
    prefix: str | None
    user: str | None
    heaps: dict[str, int]
    extras: dict[str, Any]


def _defaults(
    check: _Checker, cluster: Mapping[str, Any], storm_facts: Mapping[str, Any], known: KnownKeys
) -> _Defaults:
    prefix = check.prefix("[cluster] prefix", cluster["prefix"]) if "prefix" in cluster else None
    user = check.user("[cluster] user", cluster["user"]) if "user" in cluster else None
    slots = check.slots("[cluster] slots", cluster["slots"]) if "slots" in cluster else None
    heaps = check.heaps("[cluster.heaps]", cluster.get("heaps", {}))
    extras = _extras(check, "[cluster]", cluster, {}, known)
    return _Defaults(slots or list(storm_facts["slots_ports"]), prefix, user, heaps, extras)


def _zookeeper_ports(
    check: _Checker, cluster: Mapping[str, Any], zk_facts: Mapping[str, Any], warnings: list[str]
) -> dict[str, int | None]:
    """ZooKeeper's ports: the release's defaults, and [cluster]'s zk_*_port over them."""
    zk_ports: dict[str, int | None] = dict(configs.default_zk_ports(dict(zk_facts)))
    for key in contract.ZK_PORT_KEYS:
        if f"zk_{key}_port" in cluster:
            zk_ports[key] = check.port(f"[cluster] zk_{key}_port", cluster[f"zk_{key}_port"])
    check.rule(contract.check_zk_ports_differ, "[cluster]", zk_ports)
    if zk_ports["admin"] is not None and not zk_facts.get("admin_server"):
        warnings.append(
            f"{check.path}: [cluster] zk_admin_port: this ZooKeeper release has no AdminServer; "
            "the setting is ignored"
        )
    return zk_ports


def _host(
    check: _Checker,
    index: int,
    raw: Any,
    defaults: _Defaults,
    daemons: set[str],
    known: KnownKeys,
) -> dict[str, Any]:
    """One [[host]] table, checked, with the cluster's defaults where it sets nothing."""
    where = f"[[host]] #{index}"
    entry = check.keys(where, raw, HOST_KEYS)
    if "name" not in entry:
        raise check.fail(where, "needs a name")
    host_name = check.host_name(where + " name", entry["name"])
    where = f"host {host_name}"
    if "address" not in entry:
        raise check.fail(where, "needs an address (IPv4 address or DNS name peers can reach)")
    address = check.address(f"{where}: address", entry["address"])
    roles, zk_id = _roles(check, where, entry, daemons)
    heaps = dict(defaults.heaps)
    heaps.update(check.heaps(f"{where}: heaps", entry.get("heaps", {})))
    return {
        "name": host_name,
        "address": address,
        "roles": [r for r in ROLES if r in roles],
        "zk_id": zk_id,
        "slots": check.slots(f"{where}: slots", entry["slots"])
        if "slots" in entry
        else list(defaults.slots),
        "heaps": heaps,
        "prefix": check.prefix(f"{where}: prefix", entry["prefix"])
        if "prefix" in entry
        else defaults.prefix,
        "user": check.user(f"{where}: user", entry["user"]) if "user" in entry else defaults.user,
        **_extras(check, f"{where}:", entry, defaults.extras, known),
    }


def _roles(
    check: _Checker, where: str, entry: Mapping[str, Any], daemons: set[str]
) -> tuple[list[str], int | None]:
    """A host's roles, each a daemon of this Storm release, and its zk_id if it sets one."""
    roles = check.rule(contract.check_roles, f"{where}: roles", entry.get("roles"))
    for role in roles:
        if role in STORM_ROLES and role not in daemons:
            raise check.fail(where, f"this Storm release has no {role!r} daemon")
    zk_id = None
    if "zk_id" in entry:
        if "zookeeper" not in roles:
            raise check.fail(where, "zk_id is set but the host has no zookeeper role")
        zk_id = check.rule(contract.check_zk_id, f"{where}: zk_id", entry["zk_id"])
    return roles, zk_id


def _ensemble_and_nimbus(
    check: _Checker, hosts: list[dict[str, Any]], storm_facts: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ZooKeeper ensemble in id order and the Nimbus hosts, of hosts that are distinct
    and can reach each other."""
    _unique(check, hosts, "name")
    _unique(check, hosts, "address")
    if len(hosts) > 1:
        for entry in hosts:
            if _is_loopback(entry["address"]):
                raise check.fail(
                    f"host {entry['name']}",
                    f"address {entry['address']} is this machine's loopback, which the other "
                    "hosts cannot reach; give its network address",
                )
    ensemble = _assign_zk_ids(check, hosts)
    if not ensemble:
        raise check.fail("[[host]]", "no host has the zookeeper role; Storm needs ZooKeeper")
    nimbus = [{"name": h["name"], "address": h["address"]} for h in hosts if "nimbus" in h["roles"]]
    if not nimbus:
        raise check.fail("[[host]]", "no host has the nimbus role; a Storm cluster needs one")
    if storm_facts["nimbus_key"] == "nimbus.host" and len(nimbus) > 1:
        raise check.fail(
            "[[host]]",
            f"{len(nimbus)} hosts have the nimbus role ({', '.join(n['name'] for n in nimbus)}), "
            "but this Storm release has a single Nimbus (nimbus.host); keep one",
        )
    return ensemble, nimbus


def _unique(check: _Checker, hosts: list[dict[str, Any]], key: str) -> None:
    seen: dict[str, str] = {}
    for entry in hosts:
        value = entry[key]
        # Names and addresses are DNS names or IPv4 addresses: ZK1 and zk1 are one host.
        if value.lower() in seen:
            raise check.fail(
                f"host {entry['name']}",
                f"{key} {value} is also host {seen[value.lower()]}'s; each host needs its own "
                f"{key}",
            )
        seen[value.lower()] = entry["name"]


def _assign_zk_ids(check: _Checker, hosts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ensemble in id order; hosts without a zk_id take the lowest free ids in file order."""
    members = [h for h in hosts if "zookeeper" in h["roles"]]
    taken: dict[int, str] = {}
    for entry in members:
        if entry["zk_id"] is not None:
            if entry["zk_id"] in taken:
                raise check.fail(
                    f"host {entry['name']}",
                    f"zk_id {entry['zk_id']} is also host {taken[entry['zk_id']]}'s; ZooKeeper "
                    "ids must be unique",
                )
            taken[entry["zk_id"]] = entry["name"]
    next_id = 1
    for entry in members:
        if entry["zk_id"] is None:
            while next_id in taken:
                next_id += 1
            if next_id > 255:
                raise check.fail(f"host {entry['name']}", "no ZooKeeper id left in 1..255")
            entry["zk_id"] = next_id
            taken[next_id] = entry["name"]
    return [
        {"id": h["zk_id"], "name": h["name"], "address": h["address"]}
        for h in sorted(members, key=lambda h: int(h["zk_id"]))
    ]


def host_ports(
    entry: Mapping[str, Any],
    storm_facts: Mapping[str, Any],
    zk_facts: Mapping[str, Any],
    zk_ports: Mapping[str, int | None],
    ensemble_size: int,
) -> list[tuple[int, str]]:
    """(port, what listens on it, and the key that sets it) for every port a host of the
    inventory binds, as the installer's ports.py lists them."""
    values = {
        "roles": entry["roles"],
        "zk_ports": zk_ports,
        "zk_servers": [None] * ensemble_size,
        "slots": entry["slots"],
        "http_port": configs.SUPERVISORD_HTTP_PORT,
        "storm_options": entry.get("storm_options"),
        "zk_options": entry.get("zk_options"),
    }
    found = ports.listening(values, storm_facts, zk_facts)
    return [(int(e["port"]), f"{e['what']} ({e['option']})") for e in found]


def _check_ports(
    check: _Checker,
    entry: Mapping[str, Any],
    storm_facts: Mapping[str, Any],
    zk_facts: Mapping[str, Any],
    zk_ports: Mapping[str, int | None],
    ensemble_size: int,
) -> None:
    seen: dict[int, str] = {}
    for port, what in host_ports(entry, storm_facts, zk_facts, zk_ports, ensemble_size):
        if port in seen:
            raise check.fail(
                f"host {entry['name']}",
                f"port {port} is both {seen[port]} and {what}; change one of them",
            )
        seen[port] = what
