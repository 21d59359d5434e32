"""The bundle's members and the manifest's parts: on-host files, releases, KEYS, wheels, JDK,
the smoke topology (storm-starter), cluster inventory and SBOM."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.utils import parse_wheel_filename

from bundler.errors import UsageError
from bundler.fetch import maven
from bundler.fetch.jdk import Jdk
from bundler.fetch.keys import Keys
from bundler.fetch.licences import wheel_licence
from bundler.fetch.mirrors import FetchedArtifact
from bundler.fetch.wheels import PythonSet
from bundler.onhost.contract.extras import KNOWN_KEYS_PATH
from bundler.pack.bundle import Member, sha256_of
from bundler.pack.manifest import (
    CLUSTER_FILE,
    Artifact,
    Checked,
    ClusterRef,
    Published,
    PythonWheels,
    Release,
    Signature,
    Supervisor,
)
from bundler.pack.manifest import Jdk as JdkEntry
from bundler.pack.manifest import Smoke as SmokeEntry
from bundler.recipes import package_data
from bundler.recipes.configkeys import known_keys_file
from bundler.recipes.inventory import Inventory

TARGET_DIR = package_data.onhost_dir()


@dataclass
class _Parts:
    """The manifest's pieces, as the bundle's members are gathered."""

    releases: dict[str, Release]
    supervisor: Supervisor
    artifacts: list[Artifact]
    jdk: JdkEntry | None = None
    smoke: SmokeEntry | None = None
    cluster: ClusterRef | None = None


def _add_jdk(jdk: Jdk, members: list[Member], parts: _Parts) -> None:
    rel = f"artifacts/{jdk.file}"
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._+-]*", jdk.file):
        raise UsageError(
            f"--jdk {jdk.file!r}: expected a file name of letters, digits and . _ + -; rename it"
        )
    if any(m.name == rel for m in members):
        raise UsageError(f"--jdk {jdk.file}: same name as a release tarball; rename it")
    members.append(Member(rel, jdk.path, sha256=jdk.sha256))
    parts.jdk = JdkEntry(version=jdk.version, java_major=jdk.major, artifact=rel, top=jdk.top)
    parts.artifacts.append(
        Artifact(
            component="jdk",
            path=rel,
            size=jdk.size,
            sha256=jdk.sha256,
            signature=Signature("unverified", reason="supplied with --jdk"),
            top=jdk.top,
            checked=(Checked("user-supplied", "sha256"),),
        )
    )


SMOKE_DIR = "artifacts/smoke"


def _add_sidecars(sides: list[Path], folder: str, members: list[Member]) -> list[str]:
    """An artifact's checksum files and signature, beside it in the bundle: their paths."""
    paths = [f"{folder}/{side.name}" for side in sides]
    members += [_blob(rel, side.read_bytes()) for rel, side in zip(paths, sides, strict=True)]
    return paths


def _add_starter(jar: maven.StarterJar, members: list[Member], parts: _Parts) -> None:
    """storm-starter under artifacts/smoke/, with the checksum files and signature it was
    verified with; the installer places the jar at PREFIX/lib/smoke/."""
    rel = f"{SMOKE_DIR}/{jar.file_name}"
    fresh = None if jar.from_cache else jar.record.get("fingerprint")
    members.append(Member(rel, jar.file, sha256=jar.sha256, verified=fresh))
    sidecars = _add_sidecars(jar.sidecars(), SMOKE_DIR, members)
    sig = jar.signature
    # Checked against the KEYS the Storm release was: the same files of the bundle.
    keys: tuple[str, ...] = ()
    if sig.get("status") == "good":
        keys = next((a.signature.keys for a in parts.artifacts if a.component == "storm"), ())
    parts.smoke = SmokeEntry(version=jar.version, artifact=rel)
    parts.artifacts.append(
        Artifact(
            component="smoke",
            path=rel,
            size=jar.size,
            sha256=jar.sha256,
            signature=Signature.of(sig, keys),
            top=None,
            sidecars=tuple(sidecars),
            published=tuple(Published(**p) for p in jar.record["published"]),
            checked=tuple(Checked(**c) for c in jar.record["checked"]),
        )
    )


def _add_sbom(
    name: str,
    epoch: int,
    fetched: list[FetchedArtifact],
    python_sets: list[PythonSet],
    jdk: Jdk | None,
    members: list[Member],
    memo: Path | None,
    starter: maven.StarterJar | None = None,
) -> None:
    """The CycloneDX SBOM, one more member listed in the manifest like every file; a warm
    build takes it from `memo` (a cache folder) when nothing it is made from changed, and
    --paranoid (memo None) renders it anew."""
    from bundler.fetch.cache import write_json
    from bundler.pack import sbom

    items = [
        sbom.Item(
            kind="apache",
            name=item.artifact.project,
            version=item.artifact.version,
            path=f"artifacts/{item.artifact.file}",
            sha256=item.record["sha256"],
            sha512=item.record["digests"].get("sha512"),
            url=item.artifact.canonical_url,
            licence=item.artifact.licence,
        )
        for item in fetched
    ]
    wheels = {w.filename: w for ps in python_sets for w in ps.wheels}
    for filename, wheel in sorted(wheels.items()):
        project, version, *_ = parse_wheel_filename(filename)
        items.append(
            sbom.Item(
                kind="wheel",
                name=str(project),
                version=str(version),
                path=f"python/wheels/{filename}",
                sha256=wheel.sha256,
            )
        )
    if jdk:
        items.append(sbom.Item("jdk", jdk.top, jdk.version, f"artifacts/{jdk.file}", jdk.sha256))
    if starter:
        items.append(
            sbom.Item(
                kind="maven",
                name=maven.ARTIFACT_ID,
                version=starter.version,
                path=f"{SMOKE_DIR}/{starter.file_name}",
                sha256=starter.sha256,
                sha512=starter.record["digests"].get("sha512"),
                url=maven.canonical_url(starter.version),
                licence=maven.LICENCE,
            )
        )

    def licence(item: sbom.Item) -> str | None:
        wheel = wheels[item.path.rsplit("/", 1)[1]]
        return wheel.licence if wheel.licence_read else wheel_licence(wheel.path)

    def make() -> bytes:
        licensed = [replace(i, licence=licence(i)) if i.kind == "wheel" else i for i in items]
        return sbom.render(name, epoch, licensed)

    if memo is None:
        data = make()
    else:
        data = sbom.render_memo(memo, sbom.memo_key(name, epoch, items), make, write_json)
    members.append(_blob(sbom.SBOM_FILE, data))


def _add_cluster(cluster: Inventory, members: list[Member], parts: _Parts) -> None:
    data = (json.dumps(cluster.data, indent=2, sort_keys=True) + "\n").encode()
    members.append(_blob(CLUSTER_FILE, data))
    parts.cluster = ClusterRef(
        file=CLUSTER_FILE,
        name=cluster.name,
        hosts=tuple(h["name"] for h in cluster.data["hosts"]),
    )


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
    fetched: list[FetchedArtifact],
    python_sets: list[PythonSet],
    supervisor: str,
    keys: Keys,
) -> tuple[list[Member], _Parts]:
    members = _target_members()
    releases: dict[str, Release] = {}
    artifacts: list[Artifact] = []
    key_members: dict[str, Member] = {}
    for item in fetched:
        art = item.artifact
        comp = item.component
        release = Release.of(comp)
        # Hashed as it arrived in this build (not found in the cache): no second hash.
        fresh = None if item.from_cache else item.record.get("fingerprint")
        members.append(
            Member(release.artifact, item.file, sha256=item.record["sha256"], verified=fresh)
        )
        sidecars = _add_sidecars(item.sidecars(), "artifacts", members)
        key_paths = []
        for i, path in enumerate(keys.files(art.project)):
            key_name = f"keys/{art.project}.KEYS" if i == 0 else f"keys/{art.project}-{i}.KEYS"
            key_members[key_name] = _blob(key_name, path.read_bytes())
            key_paths.append(key_name)
        sig = item.signature
        releases[comp.project] = release
        record = item.record
        artifacts.append(
            Artifact(
                component=comp.project,
                path=release.artifact,
                size=record["size"],
                sha256=record["sha256"],
                signature=Signature.of(sig, tuple(key_paths)),
                top=art.top,
                sidecars=tuple(sidecars),
                published=tuple(Published(**p) for p in record["published"]),
                checked=tuple(Checked(**c) for c in record["checked"]),
                entries=record["archive"].get("entries"),
            )
        )
    members += key_members.values()
    if "storm" in releases and "zookeeper" in releases:
        # The key sets the installer checks --storm-option/--zk-option against (extras.py).
        known = known_keys_file(releases["storm"].version, releases["zookeeper"].version)
        members.append(_blob(KNOWN_KEYS_PATH, known))

    wheels: dict[str, Member] = {}
    pythons: dict[str, PythonWheels] = {}
    for ps in python_sets:
        lock_rel = f"python/locks/py{ps.python}.txt"
        members.append(_blob(lock_rel, ps.lock.path.read_bytes()))
        for wheel in ps.wheels:
            wheels.setdefault(
                wheel.filename,
                Member(
                    f"python/wheels/{wheel.filename}",
                    wheel.path,
                    sha256=wheel.sha256,
                    verified=wheel.verified,
                ),
            )
        pythons[ps.python] = PythonWheels(
            lock=lock_rel,
            pip=f"python/wheels/{ps.pip_wheel.filename}",
            wheels=tuple(sorted(f"python/wheels/{w.filename}" for w in ps.wheels)),
        )
    members += wheels.values()
    return members, _Parts(releases, Supervisor(supervisor, pythons), artifacts)
