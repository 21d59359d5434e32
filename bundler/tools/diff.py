"""`bundler diff OLD NEW`: what changes between two bundles, before anyone installs NEW.

Versions, artifacts and their sha256, the Python wheels per target Python, and, for each host
of a cluster inventory (`--cluster cluster.toml`, else the bundles' own cluster.json), the
config keys that would change. Both sides are rendered by the one renderer (render/configs.py)
and compared key by key: a header comment naming the bundle, or the order of lines, is no
change. Exit 0 whether or not the bundles differ (the report is the answer, as with
`bundler inspect`); a bundle that cannot be read is exit 1 or 3 like `verify`.
"""

from __future__ import annotations

import configparser
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bundler.errors import BundleFormatError, IntegrityError, UsageError
from bundler.fetch.tarscan import safe_name
from bundler.onhost.contract import cluster as target_cluster
from bundler.onhost.plan import upgrade
from bundler.onhost.render import configs
from bundler.pack.manifest import MANIFEST_FILE, Manifest
from bundler.recipes.inventory import KnownKeys, normalise
from bundler.recipes.inventory import load as load_inventory
from bundler.tools.render import HostFacts, host_values

SMALL_MAX = 16 << 20  # bundle.json and cluster.json are far smaller


@dataclass(frozen=True)
class Side:
    path: Path
    manifest: Manifest
    cluster: dict[str, Any] | None


@dataclass
class Report:
    old: str
    new: str
    versions: dict[str, list[str | None]] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    wheels: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    inventory: str | None = None
    hosts: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # What install.sh needs on a host that has OLD to take NEW.
    install_flags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "install_flags": self.install_flags,
            "versions": self.versions,
            "artifacts": self.artifacts,
            "wheels": self.wheels,
            "inventory": self.inventory,
            "hosts": self.hosts,
            "notes": self.notes,
        }


def _read_members(path: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    if path.is_dir():
        return {n: (path / n).read_bytes() for n in names if (path / n).is_file()}
    if not path.is_file():
        raise UsageError(f"{path}: no such file; expected a bundle .tar, .tar.gz or folder")
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                name = safe_name(info.name, str(path))
                rel = name.partition("/")[2]
                if rel in names and info.isfile() and info.size <= SMALL_MAX:
                    stream = tar.extractfile(info)
                    assert stream is not None
                    found[rel] = stream.read()
    except (tarfile.TarError, EOFError):
        raise BundleFormatError(
            f"{path}: not a tar archive or a damaged one; expected a bundle made by bundler build"
        ) from None
    return found


def read_side(path: Path) -> Side:
    members = _read_members(path, (MANIFEST_FILE, target_cluster.FILE))
    if MANIFEST_FILE not in members:
        raise BundleFormatError(f"{path}: no bundle.json inside; not a bundle made by bundler")
    manifest = Manifest.from_bytes(members[MANIFEST_FILE], f"{path}: {MANIFEST_FILE}")
    data = None
    if target_cluster.FILE in members:
        try:
            data = json.loads(members[target_cluster.FILE])
            target_cluster.check(data)
        except ValueError as exc:
            raise IntegrityError(f"{path}: {target_cluster.FILE}: {exc}") from None
    return Side(path, manifest, data)


# --- parsing rendered files into keys ---


def _yaml_keys(text: str) -> dict[str, str]:
    """Our storm.yaml's own shape: `key: scalar`, or `key:` then `  - item` lines."""
    scalars: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("  - ") and current in lists:
            lists[current].append(line[4:])
            continue
        current, _, value = line.partition(":")
        if value.strip():
            scalars[current] = value.strip()
        else:
            lists[current] = []
    scalars.update((k, "[" + ", ".join(v) + "]") for k, v in lists.items())
    return scalars


def _properties_keys(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and line[0] != "#")
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def _ini_keys(text: str, comments: tuple[str, ...]) -> dict[str, str]:
    parser = configparser.RawConfigParser(
        interpolation=None, strict=False, comment_prefixes=comments
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return {f"[{s}] {k}": v for s in parser.sections() for k, v in parser.items(s)}


def file_keys(relpath: str, text: str) -> dict[str, str]:
    """A rendered file as {key: value}: comments and line order are not part of its meaning."""
    if relpath.endswith("storm.yaml"):
        return _yaml_keys(text)
    if relpath.endswith("zoo.cfg"):
        return _properties_keys(text)
    if relpath.endswith("supervisord.conf"):
        return _ini_keys(text, (";", "#"))
    if relpath.endswith(".service"):
        return _ini_keys(text, ("#", ";"))
    # A script or a one-value file: its non-comment lines are its one value.
    body = [line for line in text.splitlines() if not line.startswith("#") or line[:2] == "#!"]
    return {"(content)": "\n".join(body)}


def _compare(old: dict[str, str], new: dict[str, str]) -> list[dict[str, Any]]:
    changes = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            changes.append({"key": key, "old": old.get(key), "new": new.get(key)})
    return changes


def _render(side: Side, inventory: dict[str, Any], entry: dict[str, Any]) -> dict[str, str]:
    values = host_values(inventory, entry, side.manifest.storm.facts, HostFacts())
    files = configs.render(side.manifest.config_view(), values)
    return {rel: text for rel, text, _ in files}


def _host_changes(
    old: Side, new: Side, old_inv: dict[str, Any], new_inv: dict[str, Any]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    hosts: dict[str, dict[str, list[dict[str, Any]]]] = {}
    old_hosts = {h["name"]: h for h in old_inv["hosts"]}
    for entry in new_inv["hosts"]:
        name = entry["name"]
        if name not in old_hosts:
            hosts[name] = {"(host)": [{"key": "host", "old": None, "new": "added"}]}
            continue
        try:
            before = _render(old, old_inv, old_hosts[name])
            after = _render(new, new_inv, entry)
        except ValueError as exc:
            raise UsageError(f"host {name}: {exc}") from None
        files: dict[str, list[dict[str, Any]]] = {}
        for rel in sorted(set(before) | set(after)):
            changes = _compare(
                file_keys(rel, before.get(rel, "")), file_keys(rel, after.get(rel, ""))
            )
            if rel not in before or rel not in after:
                changes = [
                    {"key": "(file)", "old": rel in before or None, "new": rel in after or None}
                ]
            if changes:
                files[rel] = changes
        hosts[name] = files
    for name in old_hosts:
        if name not in {h["name"] for h in new_inv["hosts"]}:
            hosts[name] = {"(host)": [{"key": "host", "old": "present", "new": None}]}
    return hosts


def _inventory_for(side: Side, cluster: Path | None) -> dict[str, Any]:
    from bundler.recipes.configkeys import storm_keys, zookeeper_keys

    if cluster is None:
        return cast("dict[str, Any]", side.cluster)
    storm, zk = side.manifest.storm, side.manifest.zookeeper
    # The versions named in cluster.toml are not checked here: one file describes both sides.
    known = KnownKeys(storm_keys(storm.version).keys, zookeeper_keys(zk.version).keys)
    return normalise(load_inventory(cluster), storm.facts, zk.facts, known).data


def diff(old_path: Path, new_path: Path, cluster: Path | None = None) -> Report:
    old, new = read_side(old_path), read_side(new_path)
    report = Report(old.manifest.name, new.manifest.name)
    for project in ("storm", "zookeeper"):
        a = getattr(old.manifest, project).version
        b = getattr(new.manifest, project).version
        report.versions[project] = [a, b]
    report.install_flags = _install_flags(old, new)
    report.versions["supervisor"] = [
        old.manifest.supervisor.version,
        new.manifest.supervisor.version,
    ]
    jdk_a, jdk_b = old.manifest.jdk, new.manifest.jdk
    report.versions["jdk"] = [jdk_a.version if jdk_a else None, jdk_b.version if jdk_b else None]

    arts_a = {a.component: a for a in old.manifest.artifacts}
    arts_b = {a.component: a for a in new.manifest.artifacts}
    for comp in sorted(set(arts_a) | set(arts_b)):
        a, b = arts_a.get(comp), arts_b.get(comp)
        if a and b and (a.path, a.sha256) == (b.path, b.sha256):
            continue
        report.artifacts.append(
            {
                "component": comp,
                "old": {"path": a.path, "sha256": a.sha256} if a else None,
                "new": {"path": b.path, "sha256": b.sha256} if b else None,
            }
        )

    py_a, py_b = old.manifest.supervisor.pythons, new.manifest.supervisor.pythons
    for py in sorted(set(py_a) | set(py_b)):
        wa = {Path(w).name for w in (py_a[py].wheels if py in py_a else ())}
        wb = {Path(w).name for w in (py_b[py].wheels if py in py_b else ())}
        if wa != wb:
            report.wheels[py] = {"removed": sorted(wa - wb), "added": sorted(wb - wa)}

    if cluster is not None:
        report.inventory = str(cluster)
    elif old.cluster or new.cluster:
        report.inventory = "the bundles' cluster.json"
    if report.inventory is None:
        report.notes.append(
            "no inventory (--cluster or a bundle's cluster.json): configs not compared"
        )
        return report
    if cluster is None and (old.cluster is None or new.cluster is None):
        which = new if old.cluster is None else old
        report.notes.append(f"only {which.manifest.name} carries cluster.json: used for both")
        old = Side(old.path, old.manifest, old.cluster or which.cluster)
        new = Side(new.path, new.manifest, new.cluster or which.cluster)
    report.hosts = _host_changes(
        old, new, _inventory_for(old, cluster), _inventory_for(new, cluster)
    )
    return report


def _install_flags(old: Side, new: Side) -> list[str]:
    """The installer's own rule (upgrade.py) on the two bundles' releases."""
    changes = []
    for project in upgrade.COMPONENTS:
        a = getattr(old.manifest, project).version
        b = getattr(new.manifest, project).version
        if a != b:
            changes.append((project, a, b))
    groups = [side.manifest.storm.facts.get("upgrade_group") for side in (old, new)]
    major = upgrade.major_line(groups[0], groups[1], any(c[0] == "storm" for c in changes))
    return upgrade.install_flags(changes, major)


def _short(value: Any) -> str:
    return "(absent)" if value is None else str(value)


def text(report: Report) -> str:
    lines = [f"bundler diff: {report.old} -> {report.new}", "versions:"]
    for project, (a, b) in report.versions.items():
        if a == b:
            lines.append(f"  {project:<10} {_short(a)} (unchanged)")
        else:
            lines.append(f"  {project:<10} {_short(a)} -> {_short(b)}")
    if report.install_flags:
        lines.append(f"install: each host needs install.sh {' '.join(report.install_flags)}")
        if "--allow-major-upgrade" in report.install_flags:
            lines.append(f"  (a major Storm line: stop-the-world, see {upgrade.MAJOR_PROCEDURE})")
    lines.append("artifacts:" if report.artifacts else "artifacts: unchanged")
    for art in report.artifacts:
        a, b = art["old"], art["new"]
        lines.append(f"  {art['component']}:")
        lines.append(f"    - {a['path']}  sha256 {a['sha256']}" if a else "    - (none)")
        lines.append(f"    + {b['path']}  sha256 {b['sha256']}" if b else "    + (none)")
    lines.append("python wheels:" if report.wheels else "python wheels: unchanged")
    for py, change in report.wheels.items():
        lines.append(f"  Python {py}:")
        lines += [f"    - {w}" for w in change["removed"]]
        lines += [f"    + {w}" for w in change["added"]]
    if report.inventory is not None:
        lines.append(f"config keys, hosts of {report.inventory}:")
        for host, files in report.hosts.items():
            if not files:
                lines.append(f"  {host}: unchanged")
                continue
            lines.append(f"  {host}:")
            for rel, changes in files.items():
                lines.append(f"    {rel}")
                for c in changes:
                    lines.append(f"      {c['key']}: {_short(c['old'])} -> {_short(c['new'])}")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
