"""`bundler build`: a version pair -> one verified, reproducible bundle, in five steps.

check_options (what cannot work fails in a second, not after minutes of downloads) -> resolve
(the recipes' artifacts, the wheel locks, the inventory, the JDK, the bundle's name) -> fetch
(the releases, the locked wheels and storm-starter, the smoke topology, into the verified cache,
in parallel) -> assemble (the members, the manifest, SHA256SUMS) -> write (the archive renamed
into the output folder, with its .sha256 and the provenance, where each input came from, beside
it). The bundle's bytes depend only on the verified content, the recipes and locks, and
SOURCE_DATE_EPOCH: not on the mirror, the cache, the clock, umask, time zone, locale or folder.
Nothing is written to the output folder unless every check passed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bundler.errors import UsageError
from bundler.fetch import heap
from bundler.fetch.cache import Cache, default_root
from bundler.fetch.http import Http, HttpConfig, check_pem, default_verify
from bundler.fetch.jdk import Jdk, inspect_jdk
from bundler.fetch.keys import GpgMode, Keys, Trust
from bundler.fetch.localfs import check_folder, device, writing
from bundler.fetch.maven import MAVEN_CENTRAL, StarterFetcher, StarterJar
from bundler.fetch.mirrors import DEFAULT_MIRRORS, ArtifactFetcher, FetchedArtifact, jars_in
from bundler.fetch.tarscan import TarScanner
from bundler.fetch.wheels import Lock, PythonSet, WheelResolver, load_locks
from bundler.onhost.contract import contract
from bundler.pack import sbom
from bundler.pack.assemble import (
    _add_cluster,
    _add_jdk,
    _add_sbom,
    _add_starter,
    _assemble,
    _blob,
    _digest,
)
from bundler.pack.bundle import Format, Member, Prefix, sha256sums, write_archive
from bundler.pack.manifest import MANIFEST_FILE, SUMS_FILE, FileEntry, Manifest, Policy, Release
from bundler.pack.provenance import Provenance, dependencies
from bundler.pack.provenance import path_for as provenance_path
from bundler.progress import Progress
from bundler.recipes import advisories
from bundler.recipes.configkeys import storm_keys, zookeeper_keys
from bundler.recipes.inventory import Inventory, KnownKeys
from bundler.recipes.inventory import load as load_inventory
from bundler.recipes.inventory import normalise as normalise_inventory
from bundler.recipes.pipconf import Lazy
from bundler.recipes.recipes import RECIPES_DIR, Artifact, Component, Recipe, SupervisorRecipe
from bundler.redact import redact

# The default epoch is the newest entry in the release tarballs, kept within what a ustar
# header holds and not before 2000-01-01 (a fixed point old tars do not warn about), which is
# also the epoch when nothing says otherwise.
FALLBACK_EPOCH = 946684800
MAX_EPOCH = 8**11 - 1

T = TypeVar("T")


@dataclass
class BuildOptions:
    storm: str
    zookeeper: str
    supervisor: str | None = None
    mirrors: list[str] = field(default_factory=list)
    apache_keys: list[Path] = field(default_factory=list)
    gpg: GpgMode = "auto"
    default_mirrors: bool = True
    index_url: str | None = None  # None, and no find_links: pip's own settings
    find_links: list[str] = field(default_factory=list)
    ca_bundle: Path | None = None  # the mirrors' CAs (None: the environment's, else the default)
    cache_dir: Path | None = None
    output_dir: Path = Path("bundles")
    jobs: int = 4
    pins: bool = True
    format: Format = "tar"
    recipes_dir: Path = RECIPES_DIR
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    mirror_deadline: float = 600.0
    paranoid: bool = False  # re-hash every cached file, whatever its stat fingerprint says
    jdk: Path | None = None
    cluster: Path | None = None
    # storm-starter for `stormctl smoke`: from this Maven repository (None: Maven Central,
    # unless --no-default-mirrors), or not at all.
    maven_mirror: str | None = None
    smoke_topology: bool = True


@dataclass(frozen=True)
class BuildResult:
    path: Path
    sha256: str
    size: int
    requests: int


def bundle_name(storm: Component, zookeeper: Component, cluster: str | None = None) -> str:
    """storm-V-zk-V[-CLUSTER]: the bundle's file and folder name, by contract.py's rules."""
    base = f"storm-{storm.version}-zk-{zookeeper.version}"
    try:
        if cluster is not None:
            contract.check_cluster_name(cluster, "[cluster] name")
        return contract.check_bundle_name(f"{base}-{cluster}" if cluster else base)
    except contract.Invalid as exc:
        raise UsageError(str(exc)) from None


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
    known = KnownKeys(storm_keys(storm.version).keys, zookeeper_keys(zookeeper.version).keys)
    return normalise_inventory(source, storm.facts, zookeeper.facts, known)


def _source_date_epoch(fetched: list[FetchedArtifact], cache: Cache) -> tuple[int, str]:
    """The bundle's mtime, and what it came from."""
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env:
        if not env.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds, found {env!r}")
        return int(env), "SOURCE_DATE_EPOCH"
    newest = max((_newest_mtime(item, cache) for item in fetched), default=0)
    if newest <= 0:
        return FALLBACK_EPOCH, "fallback"
    return max(FALLBACK_EPOCH, min(newest, MAX_EPOCH)), "release tarballs"


def _archive(item: FetchedArtifact, cache: Cache) -> dict[str, Any]:
    """What the cache record says of a release tarball's entries (the newest mtime, the jars);
    for a record written before bundler kept them, one read of the cached file, remembered."""
    archive: dict[str, Any] = item.record.setdefault("archive", {})
    if "newest_mtime" not in archive or "jars" not in archive:
        scanner = TarScanner(item.artifact.file)
        with open(item.file, "rb") as fh:
            while chunk := fh.read(1 << 20):
                scanner.feed(chunk)
        summary = scanner.finish()
        archive["newest_mtime"] = summary.newest_mtime
        archive["jars"] = jars_in(summary, item.artifact.top)
        cache.update_record(item.entry, item.record)
    return archive


def _newest_mtime(item: FetchedArtifact, cache: Cache) -> int:
    return int(_archive(item, cache)["newest_mtime"])


def warn_of_flaws(fetched: list[FetchedArtifact], cache: Cache, progress: Progress) -> None:
    """Each jar of a release that recipes/advisories.toml knows to be flawed, named once."""
    known = advisories.load()
    for item in fetched:
        for finding in advisories.findings(known, _archive(item, cache)["jars"]):
            progress.warn(finding.message(item.artifact.file))


@dataclass
class _Plan:
    """What one build makes, resolved and checked before anything is fetched."""

    storm: Component
    zookeeper: Component
    supervisor: str
    locks: list[Lock]
    mirrors: list[str]
    cluster: Inventory | None
    jdk: Jdk | None
    name: str
    provenance: Provenance
    maven: str | None = None  # the Maven repository storm-starter comes from; None: not fetched

    @property
    def components(self) -> tuple[Component, Component]:
        return self.storm, self.zookeeper


def build(options: BuildOptions, progress: Progress) -> BuildResult:
    """The five steps (above), each a function below."""
    mirrors, cache_root = check_options(options)
    heap.few_arenas()  # before any thread starts
    plan = resolve(options, mirrors, progress)
    session = _Session(options, plan, cache_root, progress)
    try:
        fetched, python_sets, starter = fetch(options, plan, session, progress)
        with session.in_cache():  # a record older than the jars list gains it
            warn_of_flaws(fetched, session.cache, progress)
        members, epoch = assemble(options, plan, session, fetched, python_sets, starter)
        plan.provenance.dependencies += dependencies(
            fetched, python_sets, session.keys, plan.jdk, starter
        )
        dest, digest = write(options, plan, session, members, epoch, progress)
        return BuildResult(dest, digest, dest.stat().st_size, session.requests())
    finally:
        session.close()


def check_options(options: BuildOptions) -> tuple[list[str], Path]:
    """Every option that cannot work, refused in a second rather than after minutes of
    downloads; returns the mirrors in order and the cache folder."""
    if options.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, found {options.jobs}")
    mirrors = [m.rstrip("/") for m in options.mirrors]
    mirrors += list(DEFAULT_MIRRORS) if options.default_mirrors else []
    if not mirrors:
        raise UsageError("--no-default-mirrors needs at least one --mirror URL")
    for path in options.apache_keys:
        if not path.is_file():
            raise UsageError(
                f"--apache-keys {path}: no such file; expected a KEYS file of public keys"
            )
    if options.ca_bundle is not None:
        check_pem(str(options.ca_bundle), "--ca-bundle", "a PEM file of CA certificates")
    for flag, value in (
        ("--connect-timeout", options.connect_timeout),
        ("--read-timeout", options.read_timeout),
    ):
        if not value > 0:
            raise UsageError(f"{flag} must be more than 0 seconds, found {value:g}")
    if options.mirror_deadline < 0:
        raise UsageError(
            f"--mirror-deadline must be 0 (no limit) or more, found {options.mirror_deadline:g}"
        )
    if options.maven_mirror is not None and not options.maven_mirror.startswith(
        ("http://", "https://")
    ):
        raise UsageError(
            f"--maven-mirror {redact(options.maven_mirror)}: expected an http:// or https:// "
            "URL of a Maven repository (e.g. https://repo1.maven.org/maven2)"
        )
    cache_root = options.cache_dir or default_root()
    # A full or read-only disk, or a file where a folder belongs.
    check_folder(options.output_dir, "the output folder", "--out")
    check_folder(cache_root, "the cache", "--cache-dir")
    return mirrors, cache_root


def _check_java_range(
    storm: Component, zookeeper: Component, jdk: Jdk | None, progress: Progress
) -> None:
    """A --jdk outside the releases' Java range is refused (the installer could never use it);
    a range with an upper bound and no --jdk gets a note: hosts with a newer Java need one."""
    low = max(int(c.facts.get("java_min") or 0) for c in (storm, zookeeper))
    highs = [int(c.facts["java_max"]) for c in (storm, zookeeper) if c.facts.get("java_max")]
    if not highs:
        return
    high = min(highs)
    needs = f"Storm {storm.version} and ZooKeeper {zookeeper.version} run on Java {low} to {high}"
    if jdk is None:
        progress.note(
            f"{needs} only: a host whose Java is newer needs one of those; --jdk FILE carries a "
            "JDK the installer then uses"
        )
    elif not low <= jdk.major <= high:
        raise UsageError(
            f"--jdk {jdk.file}: expected a JDK the releases run on ({needs}), found Java "
            f"{jdk.version}; pass a JDK of Java {low} to {high}"
        )


def resolve(options: BuildOptions, mirrors: list[str], progress: Progress) -> _Plan:
    """The recipes' artifacts for the versions asked, the wheel locks, the inventory checked
    against the releases, the JDK to carry, and the bundle's name."""
    storm, zookeeper, supervisor = _versions(options, progress)
    cluster = cluster_inventory(options.cluster, storm, zookeeper) if options.cluster else None
    for warning in cluster.warnings if cluster else []:
        progress.warn(warning)
    locks = load_locks(supervisor, options.recipes_dir)
    jdk = inspect_jdk(options.jdk) if options.jdk else None
    if jdk:
        progress.info(f"jdk     {jdk.file}: Java {jdk.version} in {jdk.top}/")
    _check_java_range(storm, zookeeper, jdk, progress)
    maven = _maven_repository(options, progress)
    provenance = Provenance(
        external=_external_parameters(options, storm, zookeeper, supervisor, mirrors, maven),
        internal={},
    )
    name = bundle_name(storm, zookeeper, cluster.name if cluster else None)
    return _Plan(
        storm, zookeeper, supervisor, locks, mirrors, cluster, jdk, name, provenance, maven
    )


def _maven_repository(options: BuildOptions, progress: Progress) -> str | None:
    """Where storm-starter comes from: --maven-mirror, else Maven Central; None when the
    bundle carries none (--no-smoke-topology, or --no-default-mirrors without a
    --maven-mirror: that build may use only the repositories it names)."""
    if not options.smoke_topology:
        return None
    if options.maven_mirror is not None:
        return options.maven_mirror.rstrip("/")
    if not options.default_mirrors:
        progress.note(
            "--no-default-mirrors and no --maven-mirror: storm-starter is not fetched and the "
            "bundle has no smoke topology; `stormctl smoke --jar` takes one"
        )
        return None
    return MAVEN_CENTRAL


def _versions(options: BuildOptions, progress: Progress) -> tuple[Component, Component, str]:
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


class _Session:
    """The build's connections, cache and trusted keys, and the bundle's head start; closed
    whatever happens."""

    def __init__(
        self, options: BuildOptions, plan: _Plan, cache_root: Path, progress: Progress
    ) -> None:
        self.base = HttpConfig(
            connect_timeout=options.connect_timeout,
            read_timeout=options.read_timeout,
            mirror_deadline=options.mirror_deadline,
            segments=options.jobs,
        )
        self.http = Http(replace(self.base, verify=default_verify(_text(options.ca_bundle))))
        self.in_cache = partial(writing, "the cache", cache_root, "--cache-dir")
        with self.in_cache():
            self.cache = Cache(cache_root, paranoid=options.paranoid)
        trust = Trust(options.gpg, tuple(options.apache_keys), fetch_keys=options.default_mirrors)
        self.keys = Keys(trust, self.http, self.cache, progress)
        # A plain tar's largest member comes first, so it can be written as it downloads.
        lead = Release.of(plan.storm).artifact if options.format == "tar" else None
        self.head = _HeadStart(self.cache, options.output_dir, plan, lead)
        self.wheel_requests = 0

    def requests(self) -> int:
        return self.http.requests_made + self.wheel_requests

    def close(self) -> None:
        self.keys.close()
        self.head.discard()


class _HeadStart:
    """A plain-tar bundle's start (a Prefix), written while Storm's release downloads: at
    most one, or None once it could not become the bundle."""

    def __init__(self, cache: Cache, output_dir: Path, plan: _Plan, lead: str | None) -> None:
        self.cache = cache
        self.output_dir = output_dir
        self.name = plan.name
        self.storm = plan.storm.artifact
        self.lead = lead
        self.prefixes: list[Prefix | None] = []

    def tee(self, artifact: Artifact) -> Prefix | None:
        """Asked once per mirror tried: the Prefix to feed Storm's bytes to, begun anew."""
        if self.lead is None or artifact != self.storm:
            return None
        if not self.prefixes:
            folder = self.cache.tmpdir()
            try:
                if device(folder) != device(self.output_dir):
                    raise OSError("the cache and the output folder are on two filesystems")
                self.prefixes.append(Prefix(folder, self.name, self.lead))
            except OSError:
                shutil.rmtree(folder, ignore_errors=True)
                self.prefixes.append(None)  # no head start: written after the download
        prefix = self.prefixes[0]
        if prefix is not None:
            prefix.restart()
        return prefix

    @property
    def prefix(self) -> Prefix | None:
        return self.prefixes[0] if self.prefixes else None

    def discard(self) -> None:
        for begun in self.prefixes:
            if begun is not None:
                begun.discard()


def _run_parallel(jobs: int, tasks: list[Callable[[], T]], cancel: Callable[[], None]) -> list[T]:
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
            cancel()
            raise


def fetch(
    options: BuildOptions, plan: _Plan, session: _Session, progress: Progress
) -> tuple[list[FetchedArtifact], list[PythonSet], StarterJar | None]:
    """Both releases, every locked wheel and storm-starter (when the Maven repository has it),
    verified into the cache, in parallel."""
    with session.in_cache():
        for component in plan.components:
            session.keys.prepare(component.project, component.artifact.keys_urls)
    fetcher = ArtifactFetcher(
        plan.mirrors,
        session.http,
        session.cache,
        session.keys,
        progress,
        use_pins=options.pins,
        on_download=sbom.preload,
        tee=session.head.tee,
    )
    # pip's settings are read when a wheel is first missing from the cache.
    index = Lazy(options.index_url, options.find_links)
    resolver = WheelResolver(index, session.base, session.cache, progress)
    python_sets = [PythonSet(lock.python, lock) for lock in plan.locks]
    wheel_jobs = [(ps, req) for ps in python_sets for req in ps.lock.requirements]
    tasks: list[Callable[[], Any]] = [partial(fetcher.fetch, c) for c in plan.components]
    tasks += [partial(resolver.resolve, req, ps.python) for ps, req in wheel_jobs]
    if plan.maven is not None:
        starter = StarterFetcher(plan.maven, session.http, session.cache, session.keys, progress)
        tasks.append(partial(starter.fetch, plan.storm.version))

    def cancel() -> None:
        session.http.cancel()
        resolver.cancel()

    with session.in_cache():
        results = _run_parallel(options.jobs, tasks, cancel)
    session.wheel_requests = resolver.requests_made
    if index.value is not None:  # not asked when every wheel was in the cache
        plan.provenance.internal["index"] = index.value.to_json()
    jar = results.pop() if plan.maven is not None else None
    for (ps, _), wheel in zip(wheel_jobs, results[len(plan.components) :], strict=True):
        ps.wheels.append(wheel)
    return results[: len(plan.components)], python_sets, jar


def assemble(
    options: BuildOptions,
    plan: _Plan,
    session: _Session,
    fetched: list[FetchedArtifact],
    python_sets: list[PythonSet],
    starter: StarterJar | None = None,
) -> tuple[list[Member], int]:
    """The bundle's members, its manifest and SHA256SUMS last; and its mtime."""
    epoch, epoch_from = _source_date_epoch(fetched, session.cache)
    plan.provenance.internal.update(source_date_epoch=epoch, epoch_from=epoch_from)
    members, parts = _assemble(fetched, python_sets, plan.supervisor, session.keys)
    if plan.jdk:
        _add_jdk(plan.jdk, members, parts)
    if starter:
        _add_starter(starter, members, parts)
    if plan.cluster:
        _add_cluster(plan.cluster, members, parts)
    memo = None if options.paranoid else session.cache.sbom_dir()
    with session.in_cache():
        _add_sbom(plan.name, epoch, fetched, python_sets, plan.jdk, members, memo, starter)
    manifest = Manifest(
        name=plan.name,
        source_date_epoch=epoch,
        storm=parts.releases["storm"],
        zookeeper=parts.releases["zookeeper"],
        supervisor=parts.supervisor,
        artifacts=tuple(parts.artifacts),
        policy=Policy(pins=options.pins, gpg=options.gpg),
        files={m.name: FileEntry(m.size, _digest(m)) for m in members},
        jdk=parts.jdk,
        smoke=parts.smoke,
        cluster=parts.cluster,
    )
    members.append(_blob(MANIFEST_FILE, manifest.to_bytes()))
    sums = {m.name: _digest(m) for m in members}
    members.append(_blob(SUMS_FILE, sha256sums(sums)))
    return members, epoch


def write(
    options: BuildOptions,
    plan: _Plan,
    session: _Session,
    members: list[Member],
    epoch: int,
    progress: Progress,
) -> tuple[Path, str]:
    """The bundle into the output folder, then its .sha256 and provenance beside it; none of
    the three without the others."""
    suffix = ".tar.gz" if options.format == "tar.gz" else ".tar"
    dest = options.output_dir / f"{plan.name}{suffix}"
    progress.info(f"writing {dest}")
    sidecar = dest.with_name(dest.name + ".sha256")
    head = session.head
    with writing("the output folder", options.output_dir, "--out"):
        digest = write_archive(
            dest, plan.name, members, epoch, options.format, head.lead, head.prefix
        )
        try:
            _write_atomic(sidecar, f"{digest}  {dest.name}\n".encode())
            _write_atomic(provenance_path(dest), plan.provenance.to_bytes(dest, digest))
        except BaseException:
            # No bundle without its .sha256, and no .sha256 of another bundle.
            dest.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)
            raise
    return dest, digest


def _external_parameters(
    options: BuildOptions,
    storm: Component,
    zookeeper: Component,
    supervisor: str,
    mirrors: list[str],
    maven: str | None = None,
) -> dict[str, Any]:
    """What was asked for: the build's inputs as the user gave them."""
    return {
        "storm": storm.version,
        "zookeeper": zookeeper.version,
        "supervisor": supervisor,
        "mirrors": [redact(m) for m in mirrors],
        "index_url": redact(options.index_url) if options.index_url else None,
        "find_links": [redact(link) for link in options.find_links],
        "ca_bundle": _text(options.ca_bundle),
        "keys": [str(p) for p in options.apache_keys],
        "gpg": options.gpg,
        "pins": options.pins,
        "format": options.format,
        "jdk": str(options.jdk) if options.jdk else None,
        "cluster": str(options.cluster) if options.cluster else None,
        "smoke_topology": options.smoke_topology,
        "maven_mirror": redact(maven) if maven else None,
    }


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
