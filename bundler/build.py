"""`bundler build`: a version pair -> one verified, reproducible bundle.

recipes resolve the artifacts -> fetch them (and the locked wheels) into the verified cache,
in parallel -> assemble the manifest and the archive -> rename it into the output folder.
Nothing is written to the output folder unless every check passed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bundler import __version__
from bundler.bundle import Format, Member, sha256_of, sha256sums, write_archive
from bundler.cache import Cache, default_root
from bundler.errors import UsageError
from bundler.fetch import DEFAULT_MIRRORS, ArtifactFetcher, FetchedArtifact, GpgMode, Keys, Trust
from bundler.http import Http, HttpConfig
from bundler.inventory import Inventory
from bundler.inventory import load as load_inventory
from bundler.inventory import normalise as normalise_inventory
from bundler.jdk import Jdk, inspect_jdk
from bundler.progress import Progress
from bundler.pydeps import DEFAULT_INDEX, PythonSet, WheelResolver, load_locks
from bundler.recipes import RECIPES_DIR, Component, Recipe, SupervisorRecipe

MANIFEST_SCHEMA = 1
TARGET_DIR = Path(__file__).resolve().parent / "onhost"
# The normalised inventory, at the top of the bundle beside bundle.json.
CLUSTER_FILE = "cluster.json"
# When neither SOURCE_DATE_EPOCH nor the artifacts say when: 2000-01-01, a fixed point
# that old tars do not warn about.
FALLBACK_EPOCH = 946684800

T = TypeVar("T")


@dataclass
class BuildOptions:
    storm: str
    zookeeper: str
    supervisor: str | None = None
    mirrors: list[str] = field(default_factory=list)
    keys: list[Path] = field(default_factory=list)
    gpg: GpgMode = "auto"
    default_mirrors: bool = True
    index_url: str = DEFAULT_INDEX
    find_links: list[str] = field(default_factory=list)
    cache_dir: Path | None = None
    output_dir: Path = Path("bundles")
    jobs: int = 4
    pins: bool = True
    format: Format = "tar"
    recipes_dir: Path = RECIPES_DIR
    connect_timeout: float = 5.0
    jdk: Path | None = None
    cluster: Path | None = None


@dataclass(frozen=True)
class BuildResult:
    path: Path
    sha256: str
    size: int
    requests: int


def bundle_name(storm: Component, zookeeper: Component, cluster: str | None = None) -> str:
    base = f"storm-{storm.version}-zk-{zookeeper.version}"
    return f"{base}-{cluster}" if cluster else base


def cluster_inventory(path: Path, storm: Component, zookeeper: Component) -> Inventory:
    """cluster.toml checked against the facts of the releases being bundled."""
    source = load_inventory(path)
    for key, want, component in (
        ("storm", source.storm, storm),
        ("zookeeper", source.zookeeper, zookeeper),
    ):
        if want is not None and want.removesuffix("-incubating") != component.version:
            raise UsageError(
                f"{path}: [cluster] {key} = {want!r} but the bundle is for "
                f"{component.display} {component.version}; make them agree"
            )
    return normalise_inventory(source, storm.facts, zookeeper.facts)


def _source_date_epoch(fetched: list[FetchedArtifact]) -> int:
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env:
        if not env.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds, found {env!r}")
        return int(env)
    stamps = []
    for item in fetched:
        value = item.record.get("last_modified")
        if value:
            try:
                stamps.append(int(parsedate_to_datetime(value).timestamp()))
            except (TypeError, ValueError):
                continue
    return max(stamps) if stamps else FALLBACK_EPOCH


def _resolve(options: BuildOptions, progress: Progress) -> tuple[Component, Component, str]:
    storm = Recipe.load("storm", options.recipes_dir).resolve(options.storm)
    zookeeper = Recipe.load("zookeeper", options.recipes_dir).resolve(options.zookeeper)
    for component in (storm, zookeeper):
        if not component.known:
            progress.warn(
                f"{component.display} {component.version} is not in the recipes' list of known "
                f"releases; using the rules for {', '.join(component.matched)}: check the result"
            )
    supervisor = options.supervisor or SupervisorRecipe.load(options.recipes_dir).default
    return storm, zookeeper, supervisor


def _run_parallel(jobs: int, tasks: list[Callable[[], T]], http: Http) -> list[T]:
    """Run tasks on a pool; the first failure (or Ctrl-C) stops the rest and is raised."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures: list[Future[T]] = [pool.submit(task) for task in tasks]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            # Transfers under way notice at their next chunk, so the pool winds down now
            # rather than after every download has finished.
            http.cancel()
            raise


def build(options: BuildOptions, progress: Progress) -> BuildResult:
    if options.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, found {options.jobs}")
    storm, zookeeper, supervisor = _resolve(options, progress)
    # Checked before any download: a wrong inventory fails in a second, not after minutes.
    cluster = cluster_inventory(options.cluster, storm, zookeeper) if options.cluster else None
    for warning in cluster.warnings if cluster else []:
        progress.warn(warning)
    locks = load_locks(supervisor, options.recipes_dir)
    mirrors = [m.rstrip("/") for m in options.mirrors]
    mirrors += list(DEFAULT_MIRRORS) if options.default_mirrors else []
    if not mirrors:
        raise UsageError("--no-default-mirrors needs at least one --mirror URL")
    for path in options.keys:
        if not path.is_file():
            raise UsageError(f"--keys {path}: no such file; expected a KEYS file of public keys")
    jdk = inspect_jdk(options.jdk) if options.jdk else None
    if jdk:
        progress.info(f"jdk     {jdk.file}: Java {jdk.version} in {jdk.top}/")

    http = Http(HttpConfig(connect_timeout=options.connect_timeout, segments=options.jobs))
    cache = Cache(options.cache_dir or default_root())
    trust = Trust(options.gpg, tuple(options.keys), fetch_keys=options.default_mirrors)
    keys = Keys(trust, http, cache, progress)
    try:
        components = (storm, zookeeper)
        for component in components:
            keys.prepare(component.project, component.artifact.keys_urls)

        fetcher = ArtifactFetcher(mirrors, http, cache, keys, progress, use_pins=options.pins)
        resolver = WheelResolver(http, cache, progress, options.index_url, options.find_links)
        python_sets = [PythonSet(lock.python, lock) for lock in locks]
        wheel_jobs = [(ps, req) for ps in python_sets for req in ps.lock.requirements]

        tasks: list[Callable[[], Any]] = [partial(fetcher.fetch, c) for c in components]
        tasks += [partial(resolver.resolve, req, ps.python) for ps, req in wheel_jobs]
        results = _run_parallel(options.jobs, tasks, http)
        fetched: list[FetchedArtifact] = results[: len(components)]
        for (ps, _), wheel in zip(wheel_jobs, results[len(components) :], strict=True):
            ps.wheels.append(wheel)

        name = bundle_name(storm, zookeeper, cluster.name if cluster else None)
        members, manifest = _assemble(
            name, fetched, python_sets, supervisor, keys, mirrors, options
        )
        if jdk:
            _add_jdk(jdk, members, manifest)
        if cluster:
            _add_cluster(cluster, members, manifest)
        epoch = _source_date_epoch(fetched)
        manifest["source_date_epoch"] = epoch
        manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        members.append(_blob("bundle.json", manifest_bytes))
        sums = {m.name: _digest(m) for m in members}
        members.append(_blob("SHA256SUMS", sha256sums(sums)))

        suffix = ".tar.gz" if options.format == "tar.gz" else ".tar"
        dest = options.output_dir / f"{name}{suffix}"
        progress.info(f"writing {dest}")
        digest = write_archive(dest, name, members, epoch, options.format)
        sidecar = dest.with_name(dest.name + ".sha256")
        _write_atomic(sidecar, f"{digest}  {dest.name}\n".encode())
        return BuildResult(dest, digest, dest.stat().st_size, http.requests_made)
    finally:
        keys.close()


def _add_jdk(jdk: Jdk, members: list[Member], manifest: dict[str, Any]) -> None:
    rel = f"artifacts/{jdk.file}"
    if rel in manifest["files"]:
        raise UsageError(f"--jdk {jdk.file}: same name as a release tarball; rename it")
    members.append(Member(rel, jdk.path, sha256=jdk.sha256))
    manifest["files"][rel] = {"size": jdk.size, "sha256": jdk.sha256}
    manifest["components"]["jdk"] = {
        "version": jdk.version,
        "java_major": jdk.major,
        "artifact": rel,
        "top": jdk.top,
    }
    manifest["artifacts"].append(
        {
            "component": "jdk",
            "path": rel,
            "url": None,
            "mirror": None,
            "size": jdk.size,
            "sha256": jdk.sha256,
            "sidecars": [],
            "verification": {
                "published": [],
                "checked": [{"source": "user-supplied", "algorithm": "sha256"}],
                "signature": {"status": "unverified", "reason": "supplied with --jdk"},
                "archive": {"top": jdk.top},
            },
        }
    )


def _add_cluster(cluster: Inventory, members: list[Member], manifest: dict[str, Any]) -> None:
    data = (json.dumps(cluster.data, indent=2, sort_keys=True) + "\n").encode()
    member = _blob(CLUSTER_FILE, data)
    members.append(member)
    manifest["files"][CLUSTER_FILE] = {"size": member.size, "sha256": _digest(member)}
    manifest["cluster"] = {
        "file": CLUSTER_FILE,
        "name": cluster.name,
        "hosts": [h["name"] for h in cluster.data["hosts"]],
    }


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _blob(name: str, data: bytes, executable: bool = False) -> Member:
    return Member(name, data, executable=executable, sha256=sha256_of(data))


def _digest(member: Member) -> str:
    assert member.sha256 is not None, member.name
    return member.sha256


def _target_members() -> list[Member]:
    members = []
    for path in sorted(TARGET_DIR.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        rel = path.relative_to(TARGET_DIR).as_posix()
        if rel == "install.sh":
            members.append(_blob("install.sh", path.read_bytes(), executable=True))
        else:
            members.append(_blob(f"onhost/{rel}", path.read_bytes(), rel.endswith(".sh")))
    return members


def _assemble(
    name: str,
    fetched: list[FetchedArtifact],
    python_sets: list[PythonSet],
    supervisor: str,
    keys: Keys,
    mirrors: list[str],
    options: BuildOptions,
) -> tuple[list[Member], dict[str, Any]]:
    members = _target_members()
    components: dict[str, Any] = {}
    artifacts: list[dict[str, Any]] = []
    key_members: dict[str, Member] = {}
    for item in fetched:
        art = item.artifact
        comp = item.component
        rel = f"artifacts/{art.file}"
        members.append(Member(rel, item.file, sha256=item.record["sha256"]))
        sidecars = []
        for side in item.sidecars():
            members.append(_blob(f"artifacts/{side.name}", side.read_bytes()))
            sidecars.append(f"artifacts/{side.name}")
        key_paths = []
        for i, path in enumerate(keys.files(art.project)):
            key_name = f"keys/{art.project}.KEYS" if i == 0 else f"keys/{art.project}-{i}.KEYS"
            key_members[key_name] = _blob(key_name, path.read_bytes())
            key_paths.append(key_name)
        signature = dict(item.signature)
        signature.pop("keys_sha256", None)
        if key_paths:
            signature["keys"] = key_paths
        components[comp.project] = {
            "version": comp.version,
            "line": comp.line,
            "known_release": comp.known,
            "rules": list(comp.matched),
            "artifact": rel,
            "top": art.top,
            "facts": dict(comp.facts),
        }
        artifacts.append(
            {
                "component": comp.project,
                "path": rel,
                "url": item.record["url"],
                "mirror": item.record["mirror"],
                "size": item.record["size"],
                "sha256": item.record["sha256"],
                "sidecars": sidecars,
                "verification": {
                    "published": item.record["published"],
                    "checked": item.record["checked"],
                    "signature": signature,
                    "archive": item.record["archive"],
                },
            }
        )
    members += key_members.values()

    wheels: dict[str, Member] = {}
    pythons: dict[str, Any] = {}
    for ps in python_sets:
        lock_rel = f"python/locks/py{ps.python}.txt"
        members.append(_blob(lock_rel, ps.lock.path.read_bytes()))
        for wheel in ps.wheels:
            wheels.setdefault(
                wheel.filename,
                Member(f"python/wheels/{wheel.filename}", wheel.path, sha256=wheel.sha256),
            )
        pythons[ps.python] = {
            "lock": lock_rel,
            "pip": f"python/wheels/{ps.pip_wheel.filename}",
            "wheels": sorted(f"python/wheels/{w.filename}" for w in ps.wheels),
        }
    members += wheels.values()

    files = {m.name: {"size": m.size, "sha256": _digest(m)} for m in members}
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "name": name,
        "tool": {"name": "bundler", "version": __version__},
        "components": {
            **components,
            "supervisor": {"version": supervisor, "pythons": pythons},
        },
        "artifacts": artifacts,
        "sources": {
            "mirrors": mirrors,
            "index_url": options.index_url,
            "find_links": bool(options.find_links),
            "pins": options.pins,
            "gpg": options.gpg,
        },
        "files": files,
    }
    return members, manifest
