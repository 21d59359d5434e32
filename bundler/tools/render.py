"""`bundler render`: the config files one host of a cluster inventory will get, without a build.

The same code the installer runs: the inventory is normalised as `bundler build --cluster`
does, the host's part is read with the target's cluster.py and rendered with the target's
configs.py. What only the host knows (its Java, its memory, its Pythons) comes from options
with stated defaults, and the output names each assumption.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

from bundler.errors import UsageError
from bundler.onhost.contract import cluster as target_cluster
from bundler.onhost.contract import contract
from bundler.onhost.render import configs
from bundler.pack.build import bundle_name, cluster_inventory
from bundler.pack.manifest import Release, config_view
from bundler.recipes.inventory import Inventory
from bundler.recipes.inventory import load as load_inventory
from bundler.recipes.recipes import RECIPES_DIR, Component, Recipe

# The installer's defaults as root: the prefix and the service user it creates.
DEFAULT_PREFIX = "/opt/storm"
DEFAULT_USER = "storm"
# supervisord's web password is made on each host; the rendered hash is a placeholder.
PLACEHOLDER_SHA1 = "0" * 40


@dataclass(frozen=True)
class HostFacts:
    """What the installer finds out on the host itself."""

    java_major: int = 17
    java_home: str | None = None  # default: /usr/lib/jvm/java-<major>-openjdk-amd64
    memory_mb: int = 8192
    python: str = "/usr/bin/python3"
    launcher_python: str | None = None  # default: /usr/bin/python3, or python2 where needed


@dataclass(frozen=True)
class RenderResult:
    bundle: str
    host: dict[str, Any]
    files: list[tuple[str, str, int]]
    assumptions: list[str] = field(default_factory=list)
    not_shown: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def header(self) -> list[str]:
        h = self.host
        lines = [
            f"# bundler render: host {h['name']} ({h['address']}) of bundle {self.bundle}",
            f"# roles: {', '.join(h['roles'])}",
            "# assumed, as the installer would find or default them on the host:",
        ]
        lines += [f"#   {a}" for a in self.assumptions]
        lines += [f"# not shown: {n}" for n in self.not_shown]
        return lines


def check_facts(facts: HostFacts) -> None:
    """The options behind the host facts, by contract.py's rules, named as typed."""
    try:
        contract.check_int(facts.java_major, "--java-major", contract.JAVA_MAJOR_RANGE)
        contract.check_int(facts.memory_mb, "--memory-mb", contract.MEMORY_MB_RANGE)
        contract.check_path(facts.python, "--python")
        if facts.java_home is not None:
            contract.check_path(facts.java_home, "--java-home")
        if facts.launcher_python is not None:
            contract.check_path(facts.launcher_python, "--launcher-python")
    except contract.Invalid as exc:
        raise UsageError(str(exc)) from None


def _component(project: str, version: str, recipes_dir: Path) -> Component:
    return Recipe.load(project, recipes_dir).resolve(version)


def _launcher_python(storm_facts: Mapping[str, Any]) -> str:
    spec = SpecifierSet(str(storm_facts.get("launcher_python") or ">=2.6"))
    return "/usr/bin/python3" if spec.contains("3.11") else "/usr/bin/python2.7"


def host_values(
    inventory: Mapping[str, Any],
    entry: Mapping[str, Any],
    storm_facts: Mapping[str, Any],
    facts: HostFacts,
) -> dict[str, Any]:
    """configs.py's values for one host of a normalised inventory (cluster.json's content),
    with the installer's defaults and `facts` for what only the host knows."""
    part = target_cluster.settings(dict(inventory), dict(entry))
    prefix = part.pop("prefix") or DEFAULT_PREFIX
    user = part.pop("user") or DEFAULT_USER
    values = dict(part)
    values.update(
        prefix=prefix,
        user=user,
        http_bind="127.0.0.1",
        http_port=int(configs.SUPERVISORD_HTTP_PORT),
        web_password_sha1=PLACEHOLDER_SHA1,
        java_home=facts.java_home or f"/usr/lib/jvm/java-{facts.java_major}-openjdk-amd64",
        java_major=facts.java_major,
        memory_mb=facts.memory_mb,
        python=facts.python,
        launcher_python=facts.launcher_python or _launcher_python(storm_facts),
        site_dir=f"{prefix}/python/site",
    )
    if "zookeeper" not in values["roles"]:
        values["zk_id"] = None
    return values


def load_cluster(
    cluster_path: Path,
    storm_version: str | None,
    zk_version: str | None,
    recipes_dir: Path = RECIPES_DIR,
) -> tuple[Component, Component, Inventory]:
    """The releases (the inventory's versions unless given) and the normalised inventory."""
    source_storm, source_zk = _versions_of(cluster_path)
    storm_version = storm_version or source_storm
    zk_version = zk_version or source_zk
    if not storm_version or not zk_version:
        raise UsageError(
            f"{cluster_path} names no {'Storm' if not storm_version else 'ZooKeeper'} version; "
            "pass --storm and --zk, or set storm and zookeeper under [cluster]"
        )
    storm = _component("storm", storm_version, recipes_dir)
    zookeeper = _component("zookeeper", zk_version, recipes_dir)
    return storm, zookeeper, cluster_inventory(cluster_path, storm, zookeeper)


def render(
    cluster_path: Path,
    host: str,
    storm_version: str | None,
    zk_version: str | None,
    facts: HostFacts,
    recipes_dir: Path = RECIPES_DIR,
) -> RenderResult:
    check_facts(facts)
    storm, zookeeper, inventory = load_cluster(cluster_path, storm_version, zk_version, recipes_dir)
    entry = inventory.host(host)
    name = bundle_name(storm, zookeeper, inventory.name)
    # The same Release entries `build` writes into bundle.json, so the preview reads what a
    # host reads.
    manifest = config_view(name, Release.of(storm), Release.of(zookeeper))
    values = host_values(inventory.data, entry, storm.facts, facts)
    prefix, user = values["prefix"], values["user"]
    java_home, launcher = values["java_home"], values["launcher_python"]
    try:
        files = configs.render(manifest, values)
    except ValueError as exc:
        raise UsageError(f"host {host}: {exc}") from None
    prefix_note = "from the inventory" if entry.get("prefix") else "the default as root"
    user_note = "from the inventory" if entry.get("user") else "the default as root"
    assumptions = [
        f"prefix {prefix} ({prefix_note}); service user {user} ({user_note})",
        f"--java-home {java_home}  --java-major {facts.java_major}  (the host's Java)",
        f"--memory-mb {facts.memory_mb}  (the host's memory: sizes the heaps not set in the "
        "inventory)",
        f"--python {facts.python}  --launcher-python {launcher}  (the host's Pythons)",
        "supervisord's web interface on 127.0.0.1:9001 with a placeholder password hash "
        "(each host makes its own password)",
    ]
    not_shown = ["etc/web-password (made on the host)"]
    log_config = zookeeper.facts.get("log_config")
    if "zookeeper" in values["roles"] and log_config:
        not_shown.append(
            f"etc/zookeeper/{str(log_config).rsplit('/', 1)[-1]} (copied from the ZooKeeper "
            "release)"
        )
    return RenderResult(name, entry, files, assumptions, not_shown, list(inventory.warnings))


def _versions_of(cluster_path: Path) -> tuple[str | None, str | None]:
    source = load_inventory(cluster_path)
    return source.storm, source.zookeeper


def write(result: RenderResult, out: Path) -> list[str]:
    return configs.write_files(str(out), result.files)


def text(result: RenderResult) -> str:
    parts = ["\n".join(result.header())]
    for rel, body, mode in result.files:
        parts.append(f"==> {rel} (mode {mode:04o}) <==\n{body.rstrip(chr(10))}")
    return "\n\n".join(parts) + "\n"
