"""Where a bundle's inputs came from: `<bundle>.provenance.json`, written beside the bundle.

An in-toto Statement v1 with a SLSA provenance v1 predicate. The subject is the bundle file
and its sha256; resolvedDependencies name each release tarball and wheel with the URL (or
folder) it came from, its digest, and whether this run fetched it or found it in the cache.
Everything that varies by mirror, time or machine lives here and never in the bundle, so the
bundle's bytes depend only on what was verified.
"""

from __future__ import annotations

import json
import os
import platform
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundler import __version__
from bundler.pack.bundle import sha256_of
from bundler.redact import redact

if TYPE_CHECKING:
    # Types only: `bundler verify` and `inspect` read provenance without the build machinery.
    from bundler.fetch.jdk import Jdk
    from bundler.fetch.keys import Keys
    from bundler.fetch.maven import StarterJar
    from bundler.fetch.mirrors import FetchedArtifact
    from bundler.fetch.wheels import PythonSet, Wheel

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:bundler:build:v1"
BUILDER_ID = "urn:bundler:cli"
SUFFIX = ".provenance.json"


@dataclass(frozen=True)
class Dependency:
    """One input as it reached this build."""

    name: str  # file name
    sha256: str
    uri: str | None  # where it was downloaded or copied from; None when supplied by the user
    served_by: str  # the mirror, index, folder, "cache" or "user"
    kind: str  # release, wheel, jdk, keys, smoke (storm-starter)
    annotations: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "digest": {"sha256": self.sha256}}
        if self.uri:
            out["uri"] = self.uri
        out["annotations"] = {"kind": self.kind, "servedBy": self.served_by, **self.annotations}
        return out


@dataclass
class Provenance:
    external: dict[str, Any]
    internal: dict[str, Any]
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    dependencies: list[Dependency] = field(default_factory=list)

    def statement(self, bundle: Path, sha256: str) -> dict[str, Any]:
        finished = datetime.now(timezone.utc)
        host = socket.gethostname()
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": bundle.name, "digest": {"sha256": sha256}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "buildDefinition": {
                    "buildType": BUILD_TYPE,
                    "externalParameters": self.external,
                    "internalParameters": {**self.internal, "host": host},
                    "resolvedDependencies": [
                        d.to_json() for d in sorted(self.dependencies, key=_order)
                    ],
                },
                "runDetails": {
                    "builder": {
                        "id": BUILDER_ID,
                        "version": {
                            "bundler": __version__,
                            "python": platform.python_version(),
                        },
                    },
                    "metadata": {
                        "invocationId": f"{host}/{os.getpid()}/{_stamp(self.started)}",
                        "startedOn": _stamp(self.started),
                        "finishedOn": _stamp(finished),
                    },
                },
            },
        }

    def to_bytes(self, bundle: Path, sha256: str) -> bytes:
        return (json.dumps(self.statement(bundle, sha256), indent=2) + "\n").encode("utf-8")


def path_for(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + SUFFIX)


def _order(dep: Dependency) -> tuple[str, str]:
    return dep.kind, dep.name


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def file_uri(location: str) -> str:
    """A find-links path as a file: URI; URLs unchanged, and without a password."""
    if location.startswith(("http://", "https://", "file:")):
        return redact(location)
    return Path(location).resolve().as_uri()


def dependencies(
    fetched: list[FetchedArtifact],
    python_sets: list[PythonSet],
    keys: Keys,
    jdk: Jdk | None,
    starter: StarterJar | None = None,
) -> list[Dependency]:
    """Each input of the build with its digest, where it came from and what served it."""
    deps = []
    for item in fetched:
        record = item.record
        deps.append(
            Dependency(
                name=item.artifact.file,
                sha256=record["sha256"],
                uri=record["url"],
                # A cached file was served by its mirror in an earlier build.
                served_by="cache" if item.from_cache else record["mirror"],
                kind="release",
                annotations={"component": item.component.project, "mirror": record["mirror"]},
            )
        )
        keys_from = "--apache-keys" if keys.trust.keys_files else "the project's KEYS at apache.org"
        for path in keys.files(item.artifact.project):
            deps.append(
                Dependency(path.name, sha256_of(path.read_bytes()), None, keys_from, "keys")
            )
    wheels: dict[str, tuple[Wheel, list[str]]] = {}
    for ps in python_sets:
        for wheel in ps.wheels:
            first, pythons = wheels.setdefault(wheel.filename, (wheel, []))
            pythons.append(ps.python)
            if first.source == "cache" and wheel.source != "cache":
                # Another Python took it from the cache this build had just filled.
                wheels[wheel.filename] = (wheel, pythons)
    for filename, (wheel, pythons) in wheels.items():
        cached = wheel.source == "cache"
        deps.append(
            Dependency(
                name=filename,
                sha256=wheel.sha256,
                uri=None if cached else file_uri(wheel.source),
                served_by="cache" if cached else file_uri(wheel.served_by),
                kind="wheel",
                annotations={"pythons": pythons},
            )
        )
    if jdk:
        deps.append(Dependency(jdk.file, jdk.sha256, None, "user", "jdk"))
    if starter:
        record = starter.record
        deps.append(
            Dependency(
                name=starter.file_name,
                sha256=starter.sha256,
                uri=record["url"],
                served_by="cache" if starter.from_cache else record["mirror"],
                kind="smoke",
                annotations={"component": "smoke", "mirror": record["mirror"]},
            )
        )
    unique = {(d.kind, d.name, d.sha256): d for d in deps}
    return list(unique.values())
