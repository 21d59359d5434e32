"""recipes/*.toml -> typed components: where an artifact lives and what its version needs.

Version differences are data: each recipe is a list of rules keyed by a version range, and
the facts of every matching rule are layered in order. Nothing here branches on a version.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from bundler.errors import RecipeError, UsageError
from bundler.recipes import package_data

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

RECIPES_DIR = package_data.recipes_dir()
PROJECTS = ("storm", "zookeeper")
ALGORITHMS = ("sha512", "sha256", "sha1", "md5")


@dataclass(frozen=True)
class Pin:
    algorithm: str
    digest: str


@dataclass(frozen=True)
class Artifact:
    """One release tarball and the files Apache publishes next to it."""

    project: str
    version: str
    file: str
    path: str  # relative to a mirror base, e.g. storm/apache-storm-0.9.5/apache-storm-0.9.5.tar.gz
    top: str  # the one folder the tarball must unpack to
    checksums: tuple[str, ...]  # checksum file extensions to look for, strongest first
    signature: str | None
    keys_urls: tuple[str, ...]
    pin: Pin | None
    decoy: str | None  # a file name next to it that is NOT this artifact (source tarball)
    launcher: str | None  # a path inside `top` only the binary release has
    canonical_url: str | None = None  # on archive.apache.org, for the SBOM (not a mirror)
    licence: str | None = None  # SPDX expression


@dataclass(frozen=True)
class Component:
    project: str
    display: str
    version: str
    known: bool
    facts: Mapping[str, Any]
    artifact: Artifact
    matched: tuple[str, ...] = field(default_factory=tuple)  # version ranges that applied

    @property
    def line(self) -> str:
        return str(self.facts["line"])


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except FileNotFoundError:
        raise RecipeError(f"recipe file {path} is missing; reinstall bundler") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipe file {path} is not valid TOML: {exc}") from None


def parse_version(text: str, what: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise UsageError(
            f"{what} version {text!r} is not a version number; expected something like 2.8.4"
        ) from None


def _spec(text: str, where: Path) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise RecipeError(f"{where}: bad version range {text!r}") from None


def _fill(template: Any, values: Mapping[str, str]) -> Any:
    """Fill {version}/{major}/{minor}; other placeholders are for the installer to fill."""
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], m[0]), template)
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    return template


@dataclass(frozen=True)
class Recipe:
    project: str
    display: str
    keys_urls: tuple[str, ...]
    strip_suffixes: tuple[str, ...]
    known: tuple[str, ...]
    rules: tuple[tuple[SpecifierSet, Mapping[str, Any]], ...]
    pins: Mapping[str, str]
    source: Path
    archive_url: str | None = None
    licence: str | None = None

    @classmethod
    def load(cls, project: str, recipes_dir: Path = RECIPES_DIR) -> Recipe:
        path = recipes_dir / f"{project}.toml"
        data = load_toml(path)
        rules = []
        for raw in data.get("rule", []):
            facts = dict(raw)
            spec = _spec(str(facts.pop("versions", "")), path)
            rules.append((spec, facts))
        if not rules:
            raise RecipeError(f"{path}: no [[rule]] tables")
        return cls(
            project=str(data.get("project", project)),
            display=str(data.get("display", project)),
            keys_urls=tuple(data.get("keys_urls", ())),
            strip_suffixes=tuple(data.get("strip_suffixes", ())),
            known=tuple(data.get("known", ())),
            rules=tuple(rules),
            pins=dict(data.get("pins", {})),
            source=path,
            archive_url=data.get("archive_url"),
            licence=data.get("licence"),
        )

    def bare_version(self, version: str) -> str:
        for suffix in self.strip_suffixes:
            version = version.removesuffix(suffix)
        return version

    def supported(self) -> str:
        """A human summary of the range the rules cover, for error messages."""
        return f"{self.known[0]} to {self.known[-1]} and newer" if self.known else "none"

    def resolve(self, version: str) -> Component:
        bare = self.bare_version(version.strip())
        parsed = parse_version(bare, self.display)
        facts: dict[str, Any] = {}
        matched = []
        for spec, rule in self.rules:
            if spec.contains(parsed, prereleases=True):
                facts.update(rule)
                matched.append(str(spec))
        if not matched or not facts.get("file"):
            raise UsageError(
                f"{self.display} {version} is not covered by the recipes "
                f"(they cover {self.supported()}); pick a supported version (`bundler recipes`)"
            )
        release = (*parsed.release, 0, 0)
        values = {
            "version": bare,
            "major": str(release[0]),
            "minor": str(release[1]),
        }
        facts = {key: _fill(value, values) for key, value in facts.items()}
        path = f"{facts['dir']}/{facts['file']}"
        artifact = Artifact(
            project=self.project,
            version=bare,
            file=facts["file"],
            path=path,
            top=facts["top"],
            checksums=tuple(a for a in facts.get("checksums", ()) if a in ALGORITHMS),
            signature=facts.get("signature"),
            keys_urls=self.keys_urls,
            pin=self._pin(bare),
            decoy=facts.get("decoy"),
            launcher=facts.get("launcher"),
            canonical_url=f"{self.archive_url.rstrip('/')}/{path}" if self.archive_url else None,
            licence=self.licence,
        )
        return Component(
            project=self.project,
            display=self.display,
            version=bare,
            known=bare in self.known,
            facts=facts,
            artifact=artifact,
            matched=tuple(matched),
        )

    def _pin(self, version: str) -> Pin | None:
        raw = self.pins.get(version)
        if raw is None:
            return None
        algorithm, _, digest = str(raw).partition(":")
        if algorithm not in ALGORITHMS or not digest:
            raise RecipeError(f"{self.source}: pin for {version} must look like 'sha256:<hex>'")
        return Pin(algorithm, digest.lower())


@dataclass(frozen=True)
class SupervisorRecipe:
    default: str
    pythons: tuple[str, ...]
    releases: tuple[tuple[SpecifierSet, tuple[str, ...]], ...]
    source: Path

    @classmethod
    def load(cls, recipes_dir: Path = RECIPES_DIR) -> SupervisorRecipe:
        path = recipes_dir / "supervisor.toml"
        data = load_toml(path)
        releases = tuple(
            (_spec(str(r["versions"]), path), tuple(r.get("requires", ())))
            for r in data.get("release", [])
        )
        return cls(
            default=str(data["default"]),
            pythons=tuple(str(p) for p in data["pythons"]),
            releases=releases,
            source=path,
        )

    def supports(self, version: str) -> bool:
        parsed = parse_version(version, "supervisor")
        return any(spec.contains(parsed) for spec, _ in self.releases)

    def lock_dir(self, version: str, recipes_dir: Path = RECIPES_DIR) -> Path:
        return recipes_dir / "python" / f"supervisor-{version}"


def load_all(recipes_dir: Path = RECIPES_DIR) -> dict[str, Recipe]:
    return {project: Recipe.load(project, recipes_dir) for project in PROJECTS}
