"""The build side's typed view of bundle.json: written by `build`, read by `verify`,
`inspect` and `render`.

The constants, the JSON Schema and the check come from bundler/onhost/contract/manifest.py (the same
code the installer runs on the host), so the two sides cannot disagree: `to_json` output is
checked by `from_json`, and the tests validate it against bundle.schema.json with jsonschema.
Nothing here records where a file came from: that is provenance (provenance.py), beside the
bundle, so the bytes depend only on what was verified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from bundler.errors import BundleFormatError, IntegrityError
from bundler.onhost.contract import manifest as wire

if TYPE_CHECKING:
    # A type only: reading a manifest (verify, inspect) needs no recipes or packaging.
    from bundler.recipes.recipes import Component

SCHEMA_VERSION: Final[int] = wire.SCHEMA_VERSION
MANIFEST_FILE: Final[str] = wire.MANIFEST_FILE
SUMS_FILE: Final[str] = wire.SUMS_FILE
CLUSTER_FILE: Final[str] = wire.CLUSTER_FILE
SELF_DESCRIBED: Final[tuple[str, ...]] = cast("tuple[str, ...]", wire.SELF_DESCRIBED)

Json = dict[str, Any]


@dataclass(frozen=True)
class Release:
    """A Storm or ZooKeeper release and the recipe facts that apply to it."""

    version: str
    line: str
    known_release: bool
    rules: tuple[str, ...]
    artifact: str  # path in the bundle
    top: str
    facts: Mapping[str, Any]

    @classmethod
    def of(cls, component: Component) -> Release:
        return cls(
            version=component.version,
            line=component.line,
            known_release=component.known,
            rules=tuple(component.matched),
            artifact=f"artifacts/{component.artifact.file}",
            top=component.artifact.top,
            facts=dict(component.facts),
        )

    def to_json(self) -> Json:
        return {
            "version": self.version,
            "line": self.line,
            "known_release": self.known_release,
            "rules": list(self.rules),
            "artifact": self.artifact,
            "top": self.top,
            "facts": dict(self.facts),
        }

    @classmethod
    def from_json(cls, d: Json) -> Release:
        return cls(*wire.release_of(d))  # the installer's reading, field for field


@dataclass(frozen=True)
class Jdk:
    version: str
    java_major: int
    artifact: str
    top: str

    def to_json(self) -> Json:
        return {
            "version": self.version,
            "java_major": self.java_major,
            "artifact": self.artifact,
            "top": self.top,
        }


@dataclass(frozen=True)
class Smoke:
    """The example topology `stormctl smoke` submits (storm-starter), when the bundle has it."""

    version: str
    artifact: str  # path in the bundle

    def to_json(self) -> Json:
        return {"version": self.version, "artifact": self.artifact}


@dataclass(frozen=True)
class PythonWheels:
    """What one target Python installs supervisord from: its lock, pip, and the wheels."""

    lock: str
    pip: str
    wheels: tuple[str, ...]

    def to_json(self) -> Json:
        return {"lock": self.lock, "pip": self.pip, "wheels": sorted(self.wheels)}


@dataclass(frozen=True)
class Supervisor:
    version: str
    pythons: Mapping[str, PythonWheels]

    def to_json(self) -> Json:
        return {
            "version": self.version,
            "pythons": {py: w.to_json() for py, w in self.pythons.items()},
        }


@dataclass(frozen=True)
class Published:
    file: str
    algorithm: str
    digest: str


@dataclass(frozen=True)
class Checked:
    source: str  # apache, recipes-pin, user-supplied, maven
    algorithm: str


@dataclass(frozen=True)
class Signature:
    status: str  # good, unverified, off
    fingerprint: str | None = None
    signer: str | None = None
    reason: str | None = None
    keys: tuple[str, ...] = ()  # KEYS files in the bundle it was checked against

    @classmethod
    def of(cls, result: Mapping[str, Any], keys: tuple[str, ...]) -> Signature:
        """From a signature check's result (fetch/keys.py), checked against `keys`."""
        return cls(
            status=result["status"],
            fingerprint=result.get("fingerprint"),
            signer=result.get("signer"),
            reason=result.get("reason"),
            keys=keys,
        )

    def to_json(self) -> Json:
        out: Json = {"status": self.status}
        for key in ("fingerprint", "signer", "reason"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.keys:
            out["keys"] = list(self.keys)
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Signature:
        return cls(
            d["status"],
            d.get("fingerprint"),
            d.get("signer"),
            d.get("reason"),
            tuple(d.get("keys", ())),
        )


@dataclass(frozen=True)
class Artifact:
    """A release tarball (or the user's JDK, or the smoke topology's jar) in the bundle and how
    it was verified."""

    component: str
    path: str
    size: int
    sha256: str
    signature: Signature
    top: str | None  # the folder a tarball unpacks to; None for a jar
    sidecars: tuple[str, ...] = ()
    published: tuple[Published, ...] = ()
    checked: tuple[Checked, ...] = ()
    entries: int | None = None  # members in the tarball, when it was scanned

    def to_json(self) -> Json:
        verification: Json = {
            "published": [vars(p) for p in self.published],
            "checked": [vars(c) for c in self.checked],
            "signature": self.signature.to_json(),
        }
        if self.top is not None:
            archive: Json = {"top": self.top}
            if self.entries is not None:
                archive["entries"] = self.entries
            verification["archive"] = archive
        return {
            "component": self.component,
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "sidecars": list(self.sidecars),
            "verification": verification,
        }

    @classmethod
    def from_json(cls, d: Json) -> Artifact:
        ver = d["verification"]
        archive = ver.get("archive") or {}
        return cls(
            component=d["component"],
            path=d["path"],
            size=d["size"],
            sha256=d["sha256"],
            signature=Signature.from_json(ver["signature"]),
            top=archive.get("top"),
            sidecars=tuple(d["sidecars"]),
            published=tuple(Published(**p) for p in ver["published"]),
            checked=tuple(Checked(**c) for c in ver["checked"]),
            entries=archive.get("entries"),
        )


@dataclass(frozen=True)
class Policy:
    """The checks the build applied: part of the input, so part of the bundle."""

    pins: bool
    gpg: str


@dataclass(frozen=True)
class ClusterRef:
    file: str
    name: str | None
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class FileEntry:
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    name: str
    source_date_epoch: int
    storm: Release
    zookeeper: Release
    supervisor: Supervisor
    artifacts: tuple[Artifact, ...]
    policy: Policy
    files: Mapping[str, FileEntry]
    jdk: Jdk | None = None
    smoke: Smoke | None = None
    cluster: ClusterRef | None = None
    schema: int = field(default=SCHEMA_VERSION)

    @property
    def file_count(self) -> int:
        """Every file of the bundle: those bundle.json lists, and bundle.json and SHA256SUMS
        themselves (what `verify`, `inspect` and the installer all count)."""
        return len(set(self.files) | set(wire.SELF_DESCRIBED))

    def to_json(self) -> Json:
        components: Json = {
            wire.STORM: self.storm.to_json(),
            wire.ZOOKEEPER: self.zookeeper.to_json(),
            wire.SUPERVISOR: self.supervisor.to_json(),
        }
        if self.jdk is not None:
            components[wire.JDK] = self.jdk.to_json()
        if self.smoke is not None:
            components[wire.SMOKE] = self.smoke.to_json()
        out: Json = {
            wire.K_SCHEMA: self.schema,
            wire.K_NAME: self.name,
            wire.K_EPOCH: self.source_date_epoch,
            wire.K_COMPONENTS: components,
            wire.K_ARTIFACTS: [a.to_json() for a in self.artifacts],
            wire.K_POLICY: vars(self.policy),
            wire.K_FILES: {rel: vars(f) for rel, f in sorted(self.files.items())},
        }
        if self.cluster is not None:
            out[wire.K_CLUSTER] = {
                "file": self.cluster.file,
                "name": self.cluster.name,
                "hosts": list(self.cluster.hosts),
            }
        return out

    def to_bytes(self) -> bytes:
        """bundle.json's bytes: checked against the schema, keys sorted, no machine state."""
        data = self.to_json()
        check(data, "the manifest being written")
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: Any, where: str = MANIFEST_FILE) -> Manifest:
        check(data, where)
        comps = data[wire.K_COMPONENTS]
        sup = comps[wire.SUPERVISOR]
        jdk = comps.get(wire.JDK)
        smoke = comps.get(wire.SMOKE)
        cluster = data.get(wire.K_CLUSTER)
        return cls(
            schema=data[wire.K_SCHEMA],
            name=data[wire.K_NAME],
            source_date_epoch=data[wire.K_EPOCH],
            storm=Release.from_json(comps[wire.STORM]),
            zookeeper=Release.from_json(comps[wire.ZOOKEEPER]),
            supervisor=Supervisor(
                sup["version"],
                {
                    py: PythonWheels(e["lock"], e["pip"], tuple(e["wheels"]))
                    for py, e in sup["pythons"].items()
                },
            ),
            jdk=Jdk(**jdk) if jdk else None,
            smoke=Smoke(**smoke) if smoke else None,
            artifacts=tuple(Artifact.from_json(a) for a in data[wire.K_ARTIFACTS]),
            policy=Policy(**data[wire.K_POLICY]),
            files={rel: FileEntry(**f) for rel, f in data[wire.K_FILES].items()},
            cluster=ClusterRef(cluster["file"], cluster["name"], tuple(cluster["hosts"]))
            if cluster
            else None,
        )

    @classmethod
    def from_bytes(cls, raw: bytes, where: str = MANIFEST_FILE) -> Manifest:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise IntegrityError(
                f"{where}: expected JSON, found a parse error ({exc}); the bundle is damaged"
            ) from None
        return cls.from_json(data, where)

    def component(self, name: str) -> Release | Jdk | Smoke | None:
        return {
            wire.STORM: self.storm,
            wire.ZOOKEEPER: self.zookeeper,
            wire.JDK: self.jdk,
            wire.SMOKE: self.smoke,
        }.get(name)

    def config_view(self) -> Json:
        return config_view(self.name, self.storm, self.zookeeper)


def config_view(name: str, storm: Release, zookeeper: Release) -> Json:
    """The part of bundle.json the config renderer (onhost/render/configs.py) reads. `render` builds
    it from the same Release objects `build` writes, so a preview reads what a host reads."""
    return {
        wire.K_SCHEMA: SCHEMA_VERSION,
        wire.K_NAME: name,
        wire.K_COMPONENTS: {
            wire.STORM: storm.to_json(),
            wire.ZOOKEEPER: zookeeper.to_json(),
        },
    }


def check(data: Any, where: str = MANIFEST_FILE) -> None:
    """The on-host check (one rule set, the shipped schema). Another schema version is a
    BundleFormatError (exit 1); a manifest that breaks the contract an IntegrityError (3)."""
    try:
        wire.check(data, where)
    except wire.ManifestVersionError as exc:
        raise BundleFormatError(str(exc)) from None
    except wire.ManifestError as exc:
        raise IntegrityError(str(exc)) from None
