"""`bundler ansible`: a ready-to-run Ansible project for one cluster bundle.

The project drives the bundle's own `install.sh` on every host of its inventory, in the order a
Storm cluster needs (ZooKeeper, then Nimbus and UI, then supervisors), using only
`ansible.builtin` modules: air-gapped sites often cannot install collections. The inventory
comes from the same checked loader `bundler build --cluster` uses, and must be the one the
bundle carries: a cluster.toml that normalises to anything other than the bundle's
cluster.json is refused, since every host's install.sh reads its part from cluster.json.

The playbooks are package data (ansible_project/); only the inventory and the bundle's
variables are generated here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bundler.errors import BundleFormatError, IntegrityError, UsageError
from bundler.pack.build import cluster_inventory
from bundler.recipes.inventory import ROLES
from bundler.recipes.recipes import RECIPES_DIR, Recipe
from bundler.tools.verify import verify

# The installer's default prefix as root (the playbooks use become).
DEFAULT_PREFIX = "/opt/storm"
# Where the bundle is copied and unpacked on each host.
DEFAULT_STAGE_DIR = "/var/tmp/bundler"
# Each wait for a ZooKeeper quorum: this many tries, 5 seconds apart.
QUORUM_RETRIES = 60
# Package file -> its place in the written project.
PROJECT_FILES = {
    "ansible.cfg": "ansible.cfg",
    "site.yml": "site.yml",
    "upgrade.yml": "upgrade.yml",
    "rollback.yml": "rollback.yml",
    "stage.yml": "tasks/stage.yml",
    "install.yml": "tasks/install.yml",
    "upgrade_host.yml": "tasks/upgrade_host.yml",
    "rollback_host.yml": "tasks/rollback_host.yml",
    "zk_order.yml": "tasks/zk_order.yml",
    "zk_quorum.yml": "tasks/zk_quorum.yml",
}


class AnsibleError(UsageError):
    """The cluster.toml, bundle or output folder cannot make a project; the message says why."""


@dataclass(frozen=True)
class BundleFacts:
    """What the project needs to know about the sealed bundle."""

    path: Path
    sha256: str
    top: str
    manifest: dict[str, Any]
    cluster: dict[str, Any]


def read_bundle(path: Path) -> BundleFacts:
    """Verify the bundle (manifest, SHA256SUMS, its .sha256) and read its cluster.json."""
    if not path.is_file():
        raise AnsibleError(f"--bundle {path}: no such file; give the bundle .tar bundler built")
    sidecar = path.with_name(path.name + ".sha256")
    if not sidecar.is_file():
        raise AnsibleError(
            f"--bundle {path}: no {sidecar.name} beside it; the playbook checks each host's copy "
            "against it, so keep the two files together"
        )
    verify(path)  # IntegrityError (exit 3) on any mismatch, the .sha256 included
    sha256 = sidecar.read_text(encoding="utf-8").split()[0]
    with tarfile.open(path) as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        manifest = _member_json(tar, f"{top}/bundle.json")
        listed = manifest.get("files", {}).get("cluster.json")
        if listed is None:
            raise AnsibleError(
                f"--bundle {path}: the bundle carries no inventory (cluster.json); build it with "
                "bundler build --cluster cluster.toml"
            )
        raw = _member_bytes(tar, f"{top}/cluster.json")
    if hashlib.sha256(raw).hexdigest() != listed.get("sha256"):
        raise IntegrityError(f"{path}: cluster.json does not match the manifest; build it again")
    return BundleFacts(path.resolve(), sha256, top, manifest, json.loads(raw))


def _member_bytes(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        stream = tar.extractfile(name)
    except KeyError:
        stream = None
    if stream is None:
        raise BundleFormatError(f"no {name} inside the bundle; not a bundle made by bundler")
    return stream.read()


def _member_json(tar: tarfile.TarFile, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_member_bytes(tar, name))
    return data


def check_inventory(cluster_toml: Path, bundle: BundleFacts) -> dict[str, Any]:
    """cluster.toml through the build's checked loader; it must give the bundle's cluster.json."""
    components = bundle.manifest.get("components", {})
    storm = Recipe.load("storm", RECIPES_DIR).resolve(components["storm"]["version"])
    zookeeper = Recipe.load("zookeeper", RECIPES_DIR).resolve(components["zookeeper"]["version"])
    data = cluster_inventory(cluster_toml, storm, zookeeper).data
    carried = bundle.cluster
    # Compared by meaning, as normalised: another name, comments or layout are the same cluster.
    differing = sorted(
        key
        for key in set(data) | set(carried)
        if key != "source" and data.get(key) != carried.get(key)
    )
    if differing:
        raise AnsibleError(
            f"--cluster {cluster_toml} does not match the inventory inside {bundle.path.name} "
            f"(differs in: {', '.join(differing)}); give the cluster.toml the bundle was built "
            "with, or build the bundle again from this one"
        )
    return data


def _yaml(value: Any) -> str:
    """A scalar or flow collection as YAML (JSON is valid YAML and escapes everything)."""
    return json.dumps(value, ensure_ascii=True)


def inventory_text(cluster: dict[str, Any]) -> str:
    """inventory.yml: one group per role, each host's address, roles, zk_id and prefix."""
    lines = ["---", "# Written by bundler ansible from the bundle's cluster.json.", "all:"]
    lines += ["  hosts:"]
    for host in cluster["hosts"]:
        lines.append(f"    {host['name']}:")
        lines.append(f"      ansible_host: {_yaml(host['address'])}")
        lines.append(f"      bundler_address: {_yaml(host['address'])}")
        lines.append(f"      bundler_roles: {_yaml(host['roles'])}")
        if host.get("zk_id") is not None:
            lines.append(f"      bundler_zk_id: {int(host['zk_id'])}")
        lines.append(f"      bundler_prefix: {_yaml(host.get('prefix') or DEFAULT_PREFIX)}")
    lines.append("  children:")
    for role in ROLES:
        members = [h["name"] for h in cluster["hosts"] if role in h["roles"]]
        if members:
            lines += [f"    {role}:", "      hosts:"]
            lines += [f"        {name}:" for name in members]
        else:
            lines.append(f"    {role}: {{}}")
    # Filled while upgrade.yml and rollback.yml run (ansible.builtin.group_by).
    lines += ["    bundler_zk_follower: {}", "    bundler_zk_leader: {}"]
    return "\n".join(lines) + "\n"


def vars_text(bundle: BundleFacts, src: str) -> str:
    """group_vars/all/bundle.yml: the bundle, where it goes, and how long to wait for quorum."""
    values: list[tuple[str, Any, str]] = [
        (
            "bundler_bundle_src",
            src,
            "the bundle on the control machine, its .sha256 beside (relative: to this project)",
        ),
        ("bundler_bundle_file", bundle.path.name, ""),
        ("bundler_bundle_sha256", bundle.sha256, "from its .sha256"),
        ("bundler_bundle_top", bundle.top, "the folder it unpacks to"),
        ("bundler_stage_dir", DEFAULT_STAGE_DIR, "where each host keeps and unpacks the bundle"),
        ("bundler_install_args", [], "extra install.sh flags, e.g. ['--peer-timeout', '600']"),
        ("bundler_quorum_retries", QUORUM_RETRIES, "quorum waits: tries, 5 seconds apart"),
    ]
    lines = ["---", "# Written by bundler ansible; override in a file of your own beside it."]
    for key, value, note in values:
        if note:
            lines.append(f"# {note}")
        lines.append(f"{key}: {_yaml(value)}")
    lines.append(
        'bundler_install_sh: "{{ bundler_stage_dir }}/{{ bundler_bundle_top }}/install.sh"'
    )
    # A relative bundler_bundle_src is relative to the project, where the playbooks are.
    lines.append(
        "bundler_bundle_local: \"{{ bundler_bundle_src if bundler_bundle_src.startswith('/') "
        "else playbook_dir + '/' + bundler_bundle_src }}\""
    )
    return "\n".join(lines) + "\n"


def bundle_src(bundle: Path, out: Path, given: str | None) -> str:
    """Where the playbooks find the bundle: the operator's path as given, else the bundle's
    path relative to the project, so that the two can move together to another machine."""
    if given is not None:
        if not given.strip() or "\n" in given:
            raise AnsibleError(
                f"--bundle-src {given!r}: expected a path to the bundle on the control machine"
            )
        return given
    return os.path.relpath(bundle.resolve(), out.resolve())


def write_project(
    cluster_toml: Path, bundle_path: Path, out: Path, src: str | None = None
) -> list[Path]:
    """Write the project to `out` (new or empty), all or nothing; returns the files written."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AnsibleError(
            f"--out {out}: exists and is not an empty folder; give a new folder (nothing there "
            "is overwritten)"
        )
    bundle = read_bundle(bundle_path)
    cluster = check_inventory(cluster_toml, bundle)
    files: dict[str, str] = {
        "inventory.yml": inventory_text(cluster),
        "group_vars/all/bundle.yml": vars_text(bundle, bundle_src(bundle.path, out, src)),
    }
    package = resources.files("bundler") / "ansible_project"
    for source, rel in PROJECT_FILES.items():
        files[rel] = (package / source).read_text(encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        for rel, text in sorted(files.items()):
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            path.chmod(0o644)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / rel for rel in sorted(files)]
