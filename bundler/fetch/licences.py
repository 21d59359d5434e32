"""The licence a wheel declares, as the SBOM and `bundler inspect` name it: License-Expression,
else License, else its classifiers, with one SPDX id for the names that mean one licence
(recipes/licences.toml). The wheel cache keeps what was read with the reader that read it
(LICENCE_READER), so another reader reads every wheel again."""

from __future__ import annotations

import email.parser
import hashlib
import zipfile
from pathlib import Path

from bundler.recipes import package_data

_CLASSIFIER = "License :: "
# This module's own text stands for the code that reads wheels' licences: an edit to it makes
# the licences cache records keep stale (wheels.py), even where the version number stays (an
# editable checkout). Licence names and the SPDX id each means (data, in the recipes): part of
# the reader too.
LICENCES_FILE = package_data.recipes_dir() / "licences.toml"
LICENCE_READER = hashlib.sha256(
    Path(__file__).read_bytes() + LICENCES_FILE.read_bytes()
).hexdigest()
_SPDX: dict[str, str] = {}


def spdx_id(name: str) -> str:
    """The SPDX id a declared licence name means ("MIT License" -> "MIT"), else the name."""
    if not _SPDX:
        from bundler.recipes.recipes import load_toml

        _SPDX.update(load_toml(LICENCES_FILE)["spdx"])
    return _SPDX.get(name.strip().lower(), name)


def wheel_licence(path: Path) -> str | None:
    """The licence a wheel declares: License-Expression, else License, else its classifiers;
    None when it declares none or cannot be read."""
    return licence_of(path)[1]


def licence_of(path: Path) -> tuple[bool, str | None]:
    """(True, the licence a wheel declares, or None), or (False, None) when it could not be
    read: what a cache record may keep (LICENCE_READER)."""
    try:
        with zipfile.ZipFile(path) as whl:
            names = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
            if not names:
                return True, None
            text = whl.read(names[0]).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile):
        return False, None
    return True, _declared(text)


def _declared(text: str) -> str | None:
    meta = email.parser.HeaderParser().parsestr(text)
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return expression
    declared = (meta.get("License") or "").strip()
    # Some projects paste the whole licence text into License: keep only a short name.
    if declared and "\n" not in declared and len(declared) <= 100 and declared != "UNKNOWN":
        return spdx_id(declared)
    classifiers = [
        spdx_id(c.split(" :: ")[-1])
        for c in meta.get_all("Classifier") or []
        if c.startswith(_CLASSIFIER) and c.count(" :: ") >= 2
    ]
    return " OR ".join(dict.fromkeys(classifiers)) if classifiers else None
