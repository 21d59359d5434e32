"""Known flaws of libraries a release carries (recipes/advisories.toml), matched against the
jar names found in its tarball: the build names what it finds, the bytes stay Apache's."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from bundler.recipes.recipes import RECIPES_DIR, load_toml

FILE = "advisories.toml"


@dataclass(frozen=True)
class Advisory:
    ids: tuple[str, ...]
    name: str
    library: str
    versions: SpecifierSet
    impact: str
    fix: str

    def version_in(self, jar: str) -> Version | None:
        """The library's version when `jar` (a path) is one of its jars, else None."""
        match = re.fullmatch(re.escape(self.library) + r"-(\d[^/]*)\.jar", Path(jar).name)
        if not match:
            return None
        try:
            return Version(match.group(1))
        except InvalidVersion:
            return None


@dataclass(frozen=True)
class Finding:
    jar: str
    version: Version
    advisory: Advisory

    def message(self, release: str) -> str:
        a = self.advisory
        return (
            f"{release} carries {self.jar} ({a.library} {self.version}): {a.name}, "
            f"{' and '.join(a.ids)}: {a.impact}; fix: {a.fix}"
        )


def load(recipes_dir: Path = RECIPES_DIR) -> list[Advisory]:
    data = load_toml(recipes_dir / FILE)
    return [
        Advisory(
            ids=tuple(entry["ids"]),
            name=entry["name"],
            library=entry["library"],
            versions=SpecifierSet(entry["versions"], prereleases=True),
            impact=entry["impact"],
            fix=entry["fix"],
        )
        for entry in data.get("advisory", [])
    ]


def findings(advisories: Iterable[Advisory], jars: Iterable[str]) -> list[Finding]:
    """Each jar of an affected version, once per advisory, in the order of the jars."""
    found = []
    for jar in jars:
        for advisory in advisories:
            version = advisory.version_in(jar)
            if version is not None and advisory.versions.contains(version):
                found.append(Finding(jar, version, advisory))
    return found
